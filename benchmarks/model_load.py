"""Loading the trained model: Rasa's own ``RasaModel.load`` (baseline) against plugins.server's patch.

Each way runs in its own process (a load cannot be undone in one): it loads models/meldwijzer.tar.gz,
times the load, then records what the model predicts, so the patch is shown to change the time and
nothing else:
- NLU: the intent ranking and entities of every dev and held-out question;
- dialogue: TED's action probabilities for every tracker of the training stories.

Run with ``make bench`` (after ``benchmarks/run.py``).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
MODEL = REPO / "models" / "meldwijzer.tar.gz"
QUESTION_FILES = tuple(REPO / "tests" / "data" / part / "questions.yml" for part in ("dev", "heldout"))


def questions() -> List[str]:
    from ruamel.yaml import YAML

    return [row["text"] for path in QUESTION_FILES for row in YAML(typ="safe").load(path.read_text())["rows"]]


async def nlu_predictions(agent: Any) -> List[Dict[str, Any]]:
    found = []
    for text in questions():
        parsed = await agent.parse_message(text)
        found.append(
            {
                "intents": [(i["name"], i["confidence"]) for i in parsed["intent_ranking"]],
                "entities": [(e["entity"], e["value"]) for e in parsed["entities"]],
            }
        )
    return found


def ted_predictions(agent: Any) -> List[List[float]]:
    from rasa.core.policies.ted_policy import TEDPolicy
    from rasa.shared.core.generator import TrainingDataGenerator
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
    from rasa.shared.core.training_data.structures import StoryGraph

    nodes = agent.processor.graph_runner._instantiated_nodes
    ted = next(n._component for n in nodes.values() if isinstance(getattr(n, "_component", None), TEDPolicy))
    steps = [
        step
        for path in sorted((REPO / "data" / "stories").glob("*.yml"))
        for step in YAMLStoryReader(agent.domain).read_from_file(str(path))
    ]
    trackers = TrainingDataGenerator(StoryGraph(steps), agent.domain, augmentation_factor=0).generate()
    return [list(ted.predict_action_probabilities(t, agent.domain).probabilities) for t in trackers]


def child(way: str, out: str) -> None:
    """One load, the predictions written to ``out``."""
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    if way == "patched":
        from plugins import server

        server.install()
    start = time.perf_counter()
    agent = Agent.load(str(MODEL))
    seconds = time.perf_counter() - start
    result = {"seconds": seconds, "nlu": asyncio.run(nlu_predictions(agent)), "ted": ted_predictions(agent)}
    Path(out).write_text(json.dumps(result))


def run(way: str, directory: Path) -> Dict[str, Any]:
    out = directory / f"{way}.json"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "RASA_TELEMETRY_ENABLED": "false"}
    subprocess.run(
        [sys.executable, __file__, "--child", way, str(out)],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return json.loads(out.read_text())


def largest_difference(ours: Dict[str, Any], theirs: Dict[str, Any]) -> float:
    pairs = [(a, b) for x, y in zip(ours["nlu"], theirs["nlu"]) for (_, a), (_, b) in zip(x["intents"], y["intents"])]
    pairs += [(a, b) for x, y in zip(ours["ted"], theirs["ted"]) for a, b in zip(x, y)]
    return max(abs(a - b) for a, b in pairs)


def same_rankings(ours: Dict[str, Any], theirs: Dict[str, Any]) -> bool:
    def names(rows: List[Dict[str, Any]]) -> List[Any]:
        return [([n for n, _ in r["intents"]], r["entities"]) for r in rows]

    return names(ours["nlu"]) == names(theirs["nlu"]) and len(ours["ted"]) == len(theirs["ted"])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rasa, ours = run("rasa", Path(tmp)), run("patched", Path(tmp))
    print("Loading the trained model (baseline: Rasa's own RasaModel.load)")
    print(f"{'Rasa load (baseline)':40} {rasa['seconds']:7.1f} s")
    print(f"{'plugins.server load':40} {ours['seconds']:7.1f} s   x{ours['seconds'] / rasa['seconds']:5.2f} baseline")
    print(
        f"predictions compared: {len(ours['nlu'])} questions (NLU), {len(ours['ted'])} story trackers (TED); "
        f"same rankings and entities: {same_rankings(ours, rasa)}; "
        f"largest confidence difference: {largest_difference(ours, rasa):.2e}"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3])
    else:
        main()
