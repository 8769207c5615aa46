"""akerbp.mlops.core.logger, as seed model code uses it, inside mlops-host.

    from akerbp.mlops.core import logger
    logging = logger.get_logger("my_model")
    logging.info("loaded")

`get_logger(name)` returns a standard `logging.Logger` (level INFO, as the
seed's) whose records go to mlops-host's log through `mlops_model.log`, with
the logger's name as a field. Nothing else of akerbp.mlops is here.
"""

import logging

import mlops_model


class _HostHandler(logging.Handler):
    """Sends a record to the host's log at the matching level."""

    def emit(self, record):
        try:
            message = record.getMessage()
            fields = {"logger": record.name}
            if record.exc_info:
                fields["traceback"] = logging.Formatter().formatException(record.exc_info)
            if record.levelno >= logging.ERROR:
                mlops_model.log.error(message, **fields)
            elif record.levelno >= logging.WARNING:
                mlops_model.log.warn(message, **fields)
            elif record.levelno >= logging.INFO:
                mlops_model.log.info(message, **fields)
            else:
                mlops_model.log.debug(message, **fields)
        except Exception:
            # No host to log to (e.g. while componentize-py imports the
            # model at build time), or a bad format string: drop the record
            # rather than fail the model.
            pass


_handler = _HostHandler()


def get_logger(name="akerbp.mlops"):
    """The logger `name`, writing to mlops-host's log."""
    logger = logging.getLogger(name)
    if _handler not in logger.handlers:
        logger.addHandler(_handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # once, through the host; not again via the root logger
    return logger
