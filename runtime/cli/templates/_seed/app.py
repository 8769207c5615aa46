"""{{model_name}}: the akerbp.mlops model `{{seed_module}}`, served by mlops-host.

`mlops-host migrate` wrote this file. It does not change the model: it
imports the model module from the seed project ({{seed_root}} from here, on
the Python path through build.sh) and calls its functions the way the
akerbp.mlops prediction and training services did:

- `initialization(artifact_folder, secrets)` once, when mlops-host starts
  an instance, with the artifact folder as a `pathlib.Path` (or None when the
  model has no artifact folder); what it returns is kept for every predict.
- `predict(data, init_object, secrets)` with the whole request document:
  the JSON in the request's `data` is exactly the payload the seed's
  function received, e.g. {"data": {"input": [{"well": ..., "input_logs":
  {...}}]}}. Its answer is returned as the response's `prediction`.
- `train(data=..., folder_path=..., secrets=...)`: the files it writes into
  folder_path become a new artifact version; the dict it returns is that
  version's metadata (values as text).

The sandbox holds none of the seed project's files: the model reads only
its artifact folder, and writes only into train's folder_path.

A `ModelException` the model raises is an error the caller can act on
(`bad-input`, or `bad-artifact` from initialization); any other exception is
an `internal` error and its traceback is logged. The model's
`akerbp.mlops.core.logger` loggers write to mlops-host's log (see
akerbp_shim/).
"""

import importlib
import json
from pathlib import Path

import mlops_model
from mlops_model import Frame, ModelError

# The seed model, imported as the seed imported it (from the project root).
# Importing it here, at the top, also lets componentize-py link in what it
# imports (numpy, the helper modules next to it).
import {{seed_module}} as seed

# Modules the seed code imports inside functions. The sandbox has no Python
# files at run time: only what is imported while componentize-py builds the
# component is in it, so they are imported here, now (those that exist).
LAZY_IMPORTS = {{lazy_imports}}
for _name in LAZY_IMPORTS:
    try:
        importlib.import_module(_name)
    except ImportError:
        pass

# The seed's error class; a model without one reports every error as internal.
SEED_ERRORS = (seed.ModelException,) if hasattr(seed, "ModelException") else ()


class SeedModel(mlops_model.Model):
    # The request's `data` is passed to the model as a JSON document, and the
    # model answers with one: no columns are declared.
    inputs = "json"
    outputs = "json"

    def initialization(self, artifact_folder, secrets):
        folder = Path(artifact_folder) if artifact_folder else None
        try:
            self.init_object = seed.initialization(folder, secrets)
        except SEED_ERRORS as e:
            raise ModelError.bad_artifact(f"initialization: {e}") from None

    def predict(self, data, secrets):
        payload = json.loads(data)  # the seed's whole payload, unchanged
        try:
            result = seed.predict(payload, self.init_object, secrets)
        except SEED_ERRORS as e:
            raise ModelError.bad_input(str(e)) from None
        except KeyError as e:
            # akerbp.mlops answered a KeyError (a key missing in the payload)
            # as the caller's error, not as a crash.
            raise ModelError.bad_input(f"Unable to obtain a prediction with the provided payload: missing key {e}") from None
        # JSON has no NaN or infinity: the model must answer None instead.
        return json.dumps(result, allow_nan=False)

    def train(self, data, folder_path, secrets):
        try:
            return seed.train(data=_document(data), folder_path=folder_path, secrets=secrets)
        except SEED_ERRORS as e:
            raise ModelError.bad_input(str(e)) from None


def _document(data):
    """The training request's `data` as the seed's payload. mlops-host hands
    `train` a JSON text, or a Frame when `data` is an object of equal-length
    columns ({"x": [1, 2], "y": [3, 4]}); a Frame is turned back into that
    object, null as None, but every number arrives as a float (1 as 1.0)."""
    if not isinstance(data, Frame):
        return json.loads(data)
    document = {}
    for column in data.columns:
        valid = data.valid(column.name)
        values = list(column.data.value)
        document[column.name] = values if valid is None else [v if ok else None for v, ok in zip(values, valid)]
    return document


# componentize-py looks for `Prediction` (and `Training`) in this module.
Prediction = mlops_model.export(SeedModel)
if hasattr(seed, "train"):
    Training = mlops_model.export_training(SeedModel)
