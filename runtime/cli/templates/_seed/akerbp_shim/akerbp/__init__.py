# A stand-in for the akerbp.mlops package inside mlops-host's sandbox: only
# akerbp.mlops.core.logger, which seed model code imports (see core/logger.py).
