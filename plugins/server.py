"""Adjustments to the Rasa server process, installed when it loads our tracker store (endpoints.yml).

Five patches: four measured with a profiler before they were written, one found by stopping the
database under load (tests/deploy/test_deploy_cluster.py):

- **The action-response check.** Rasa 3.6's ``RemoteAction._validate_action_result`` calls
  ``jsonschema.validate`` on every response of the action server. That function checks the large events
  schema against its meta-schema and builds a new validator on every call: about 40 ms per action on this
  machine kind, as much as the whole NLU pipeline for a message. The schema is a constant, so a validator
  built once gives the same verdict (and the same error text) for a fraction of the cost.
- **Loading a model for prediction.** ``RasaModel.load`` (DIET, TED) builds the
  model's weights by training it for one step on an example, then overwrites them with the stored ones.
  Tracing that training step (with its gradients) is most of a server start: 56 s of loading our model
  on 2 cores, 40 s of it DIET's training step. For prediction one eager prediction builds the same
  weights; the stored weights are then loaded and the prediction traced as Rasa does. Loading for
  fine-tuning (``finetune_mode``) keeps Rasa's own way, which needs the optimizer's state. The loaded
  model predicts exactly what Rasa's loading gives (same rankings and confidences on the dev and
  held-out questions; ``docs/PERFORMANCE.md``).

- **Dialogue states once per event** (``plugins.dialogue_states``). Each policy asks for the states of
  the whole conversation before each action, and Rasa replays every event of the session to build them
  (and walks them all again for the applied events), so the cost of a message grew with the
  conversation. The replay and the walk are continued from the last call instead.

- **No silent fall-back to memory when the tracker store fails.** Rasa wraps every tracker store in a
  ``FailSafeTrackerStore``: when the database cannot be read, the conversation is treated as new (no
  case slots, no open form) and its events are kept only in this process's memory, lost at the next
  restart and unseen by the other replicas, while the user is told nothing went wrong. Ours is wired
  without that fall-back: the error reaches the channel, which answers "could not process, please
  send it again" with the danger numbers (``plugins.channels.delivery``), and nothing is stored half.

Each patch is pinned to the Rasa release it was written for: ``install()`` refuses to patch another
version or a method whose source changed, so an upgrade makes us look again instead of silently
changing behaviour.
"""

from __future__ import annotations

import hashlib
import inspect
from functools import lru_cache
from typing import Any, Dict, Text

PATCHED_RASA_VERSION = "3.6.21"
# sha256 of the source of RemoteAction._validate_action_result in that release.
PATCHED_SOURCE_SHA256 = "f8cdb4be6812396167ced74161b2ccd65c5ea676ad86d7d359d8c322d9d8dc42"
# sha256 of the source of RasaModel.load in that release.
PATCHED_LOAD_SHA256 = "84fd81c0fdd01a8048de2d9b5b3022bdbf1e155f7b4d67737eb51ecb0787d292"
# sha256 of the source of Agent._create_tracker_store in that release.
PATCHED_TRACKER_STORE_SHA256 = "97499b594b45581b2c6d8ff7adb9083af24eba85654995a40350de65633ca574"
# sha256 of the source of Domain.states_for_tracker_history in that release.
PATCHED_STATES_SHA256 = "035111ce73ac90ba50e143abf556f924af07d9f452893f5a96a62895d44df8b7"
# sha256 of the source of DialogueStateTracker.applied_events in that release.
PATCHED_APPLIED_SHA256 = "764d5065ea9997d613c1984d9357370f9ae32d31ca21346086f16c54f0487aae"
_INSTALLED_MARK = "_meldwijzer_compiled_validator"
_LOAD_MARK = "_meldwijzer_rasa_load"  # on our load: Rasa's own classmethod


@lru_cache(maxsize=1)
def _validator() -> Any:
    """The action-response validator, built (and its schema checked) once per process."""
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
    """Rasa's check with a prebuilt validator; errors carry Rasa's own explanation."""
    from jsonschema import ValidationError
    from rasa.shared.constants import DOCS_BASE_URL

    try:
        _validator().validate(result)
        return True
    except ValidationError as error:
        error.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error


def _load_for_prediction(
    cls: Any,
    model_file_name: Text,
    model_data_example: Any,
    predict_data_example: Any = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> Any:
    """``RasaModel.load`` without the training step when the model is loaded to predict."""
    import tensorflow as tf
    from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
    from rasa.utils.tensorflow.models import RasaModel
    from rasa.utils.train_utils import create_data_generators

    if finetune_mode or predict_data_example is None:
        return _rasa_load(RasaModel)(
            cls, model_file_name, model_data_example, predict_data_example, finetune_mode, *args, **kwargs
        )
    config = kwargs.get("config", {})
    model = cls(*args, **kwargs)
    model.compile(
        optimizer=tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001)), run_eagerly=config.get(RUN_EAGERLY)
    )
    generator, _ = create_data_generators(model_data=predict_data_example, batch_sizes=1, epochs=1, shuffle=False)
    model.predict_step(next(iter(generator))[0])  # eager: builds every weight a prediction uses, traces nothing
    model.load_weights(model_file_name).expect_partial()  # the optimizer's state is not needed to predict
    # What the eager prediction computed from the initial weights (the label embeddings) and its traced
    # function go; the prediction is prepared and traced again from the stored weights, as Rasa does.
    model.prepared_for_prediction = False
    model._tf_predict_step = None
    model.run_inference(predict_data_example)
    return model


def _raise(error: Exception) -> None:
    """The fail-safe store's error callback: the error goes on to the channel instead of being logged
    (with its message, which may hold stored data) and replaced by an in-memory conversation."""
    raise error


def _create_tracker_store(store: Any, domain: Any) -> Any:
    """Rasa's ``Agent._create_tracker_store``, with errors raised instead of falling back to memory."""
    from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore

    if store is not None:
        store.domain = domain
        tracker_store = store
    else:
        tracker_store = InMemoryTrackerStore(domain)
    return FailSafeTrackerStore(tracker_store, on_tracker_store_error=_raise)


def _rasa_load(model_class: Any) -> Any:
    """The function of Rasa's own ``RasaModel.load`` classmethod, also when ours is installed."""
    method = model_class.__dict__["load"]
    return getattr(method, _LOAD_MARK, method).__func__


def _sha256(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def original_source_sha256() -> str:
    """Fingerprint of the validation method we replace, as the installed Rasa ships it."""
    from rasa.core.actions.action import RemoteAction

    method = getattr(RemoteAction._validate_action_result, "__wrapped__", RemoteAction._validate_action_result)
    return _sha256(inspect.getsource(method))


def original_load_sha256() -> str:
    """Fingerprint of the model loading we replace, as the installed Rasa ships it."""
    from rasa.utils.tensorflow.models import RasaModel

    return _sha256(inspect.getsource(_rasa_load(RasaModel)))


def original_tracker_store_sha256() -> str:
    """Fingerprint of the agent's tracker-store wiring we replace, as the installed Rasa ships it."""
    from rasa.core.agent import Agent

    method = Agent.__dict__["_create_tracker_store"].__func__
    return _sha256(inspect.getsource(getattr(method, "__wrapped__", method)))


def _original(owner: Any, name: str) -> Any:
    method = getattr(owner, name)
    return getattr(method, "__wrapped__", method)


def original_states_sha256() -> str:
    """Fingerprint of the dialogue-state replay we replace, as the installed Rasa ships it."""
    from rasa.shared.core.domain import Domain

    return _sha256(inspect.getsource(_original(Domain, "states_for_tracker_history")))


def original_applied_sha256() -> str:
    """Fingerprint of the applied-events walk we replace, as the installed Rasa ships it."""
    from rasa.shared.core.trackers import DialogueStateTracker

    return _sha256(inspect.getsource(_original(DialogueStateTracker, "applied_events")))


def _replace(owner: Any, name: str, fingerprint: str, expected: str, replacement: Any) -> None:
    """Put ``replacement`` in place of Rasa's method once (Rasa's stays as ``__wrapped__``)."""
    import rasa

    if hasattr(getattr(owner, name), "__wrapped__"):
        return
    if rasa.__version__ != PATCHED_RASA_VERSION or fingerprint != expected:
        _refuse(f"{owner.__name__}.{name}")
    replacement.__wrapped__ = getattr(owner, name)
    setattr(owner, name, replacement)


def _refuse(what: str) -> None:
    import rasa

    raise RuntimeError(
        f"plugins.server patches {what} of Rasa {PATCHED_RASA_VERSION}; this is Rasa "
        f"{rasa.__version__} with a different method: review plugins/server.py before upgrading"
    )


def install() -> None:
    """Install the five patches (idempotent); refuse a Rasa they were not written for. Also withhold the
    libraries' debug messages from the logs (``bot.logs``): Rasa's hold what the users typed."""
    import rasa

    from bot.logs import withhold_library_debug

    withhold_library_debug()
    from rasa.core.actions.action import RemoteAction
    from rasa.core.agent import Agent
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.tensorflow.models import RasaModel

    from plugins import dialogue_states

    if not getattr(RemoteAction._validate_action_result, _INSTALLED_MARK, False):
        if rasa.__version__ != PATCHED_RASA_VERSION or original_source_sha256() != PATCHED_SOURCE_SHA256:
            _refuse("RemoteAction._validate_action_result")
        patched = _validate_action_result
        patched.__wrapped__ = RemoteAction._validate_action_result  # type: ignore[attr-defined]
        setattr(patched, _INSTALLED_MARK, True)
        RemoteAction._validate_action_result = patched  # type: ignore[assignment]
    if not hasattr(RasaModel.__dict__["load"], _LOAD_MARK):
        if rasa.__version__ != PATCHED_RASA_VERSION or original_load_sha256() != PATCHED_LOAD_SHA256:
            _refuse("RasaModel.load")
        load = classmethod(_load_for_prediction)
        setattr(load, _LOAD_MARK, RasaModel.__dict__["load"])  # Rasa's own, for fine-tuning
        RasaModel.load = load  # type: ignore[method-assign,assignment]
    if not hasattr(Agent.__dict__["_create_tracker_store"].__func__, "__wrapped__"):
        if rasa.__version__ != PATCHED_RASA_VERSION or original_tracker_store_sha256() != PATCHED_TRACKER_STORE_SHA256:
            _refuse("Agent._create_tracker_store")
        wiring = _create_tracker_store
        wiring.__wrapped__ = Agent.__dict__["_create_tracker_store"].__func__  # type: ignore[attr-defined]
        Agent._create_tracker_store = staticmethod(wiring)  # type: ignore[method-assign,assignment]
    _replace(
        Domain,
        "states_for_tracker_history",
        original_states_sha256(),
        PATCHED_STATES_SHA256,
        dialogue_states.states_for_tracker_history,
    )
    _replace(
        DialogueStateTracker,
        "applied_events",
        original_applied_sha256(),
        PATCHED_APPLIED_SHA256,
        dialogue_states.applied_events,
    )
