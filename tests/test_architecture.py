"""The import contract: each layer knows only the one below it (docs/ARCHITECTURE.md, "Checks").

Run it alone with ``.venv/bin/python -m pytest tests/test_architecture.py -q``. Each module is parsed with
``ast`` (nothing is imported), so a lazy import inside a function counts like one at the top.

Which module is which (every module of ``bot/`` is in exactly one layer):
- **Pure core**: every ``bot/*.py`` and ``bot/language/*.py`` except the use cases and the command
  line. It may import nothing of Rasa (``rasa``, ``rasa_sdk``), the web server (``sanic``), the store
  (``sqlalchemy``, ``bot.store``) or the adapters (``plugins``, ``actions``): the protocol must be readable
  and testable without any of them.
- **Use-case modules** (``USE_CASE_MODULES``): load from the repositories, decide with the pure core,
  store, return what to say. They may use the store but never Rasa, sanic or an adapter. The list is a
  design decision made in review; a new module is pure core until someone deliberately names it a use case.
- **The case store** (``bot/store/``): SQLAlchemy repositories, keys, migrations. No Rasa, no sanic, no
  adapter: the Rasa tracker and lock stores that use it are plug-ins.
- **The command line** (``bot/__main__.py``) wires the layers for an admin; it alone in ``bot/`` may load
  the Rasa model (through ``plugins.server``) for ``nlu-eval``.
- **Plug-ins** (``plugins/``: input channels, NLU components and the policy, the tracker and lock stores,
  the server patches) may use everything in ``bot/`` and Rasa, but no action module.

An import under ``if TYPE_CHECKING:`` is a type annotation, not a dependency at run time, so it is
allowed (``bot.cases`` takes its repositories as an argument and names their types that way).

The actions: ``actions/*.py`` are thin adapters, one use case each; none imports another action module
except ``actions.common``, the shared adapter base, and none reaches into the repositories itself: the
store is handed to a use case (``store()`` as an argument), never used as ``store().cases...``.

Every test collects all offenders before it fails, so one run lists every broken import.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, List, Tuple

REPO = Path(__file__).resolve().parent.parent
BOT = REPO / "bot"
ACTIONS = REPO / "actions"

PLUGINS = REPO / "plugins"
ADAPTERS = ("plugins", "actions")
FORBIDDEN_IN_CORE = ("rasa", "rasa_sdk", "sanic", "sqlalchemy", "bot.store", *ADAPTERS)
FORBIDDEN_IN_USE_CASES = ("rasa", "rasa_sdk", "sanic", *ADAPTERS)
FORBIDDEN_IN_STORE = FORBIDDEN_IN_USE_CASES
FORBIDDEN_IN_PLUGINS = ("actions",)
COMMAND_LINE = "bot/__main__.py"
USE_CASE_MODULES = (
    "bot.cases",
    "bot.contacts_usecase",
    "bot.dossier",
    "bot.learning_usecase",
    "bot.notes_usecase",
    "bot.overview_usecase",
    "bot.reminders",
    "bot.steps_usecase",
    "bot.weighing_usecase",
)
SHARED_ACTION_MODULE = "actions.common"


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else path.name


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of the module except the bodies of ``if TYPE_CHECKING:`` blocks."""
    stack: List[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def imports_of(path: Path, module: str = "") -> List[Tuple[int, str]]:
    """(line, imported module) for every import that runs; ``from bot import store`` names ``bot.store``."""
    module = module or module_name(path)
    package = module.rpartition(".")[0] if path.name != "__init__.py" else module
    found: List[Tuple[int, str]] = []
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names if alias.name != "*"]
    return sorted(found)


def _matches(imported: str, prefix: str) -> bool:
    return imported == prefix or imported.startswith(prefix + ".")


def offenders(paths: List[Path], forbidden: Tuple[str, ...]) -> List[str]:
    """``file:line imports X`` for each forbidden import, once per line and package."""
    lines = []
    for path in paths:
        seen = set()
        for line, imported in imports_of(path, module_name(path) if path.is_relative_to(REPO) else "bot.sample"):
            hit = next((p for p in forbidden if _matches(imported, p)), None)
            if hit and (line, hit) not in seen:
                seen.add((line, hit))
                lines.append(f"{_shown(path)}:{line} imports {imported}")
    return lines


def core_modules() -> List[Path]:
    """The pure core, derived from the tree (see the module docstring for the rule)."""
    candidates = sorted(BOT.glob("*.py")) + sorted((BOT / "language").glob("*.py"))
    return [
        p for p in candidates if str(p.relative_to(REPO)) != COMMAND_LINE and module_name(p) not in USE_CASE_MODULES
    ]


def use_case_modules() -> List[Path]:
    return [p for p in sorted(BOT.glob("*.py")) if module_name(p) in USE_CASE_MODULES]


def store_modules() -> List[Path]:
    return [p for p in sorted((BOT / "store").rglob("*.py")) if "migrations" not in p.parts]


def plugin_modules() -> List[Path]:
    return sorted(PLUGINS.rglob("*.py"))


def test_the_contract_sees_the_core_and_the_actions():
    """Guard against a contract that silently checks nothing (a moved folder, a wrong glob)."""
    core = {module_name(p) for p in core_modules()}
    assert {"bot.steps", "bot.weighing", "bot.knowledge", "bot.texts", "bot.notes"} <= core
    assert not core & {"bot.__main__", *USE_CASE_MODULES}
    assert {"bot.store.repositories", "bot.store.db"} <= {module_name(p) for p in store_modules()}
    assert {"plugins.server", "plugins.tracker_store", "plugins.channels.rest", "plugins.nlu.safety"} <= {
        module_name(p) for p in plugin_modules()
    }
    assert all((BOT / f"{m.split('.')[1]}.py").exists() for m in USE_CASE_MODULES), "a named use case is gone"
    assert {module_name(p) for p in ACTIONS.glob("*.py")} >= {"actions.common", "actions.steps"}


def test_the_parser_finds_lazy_relative_and_package_imports(tmp_path):
    """The checker itself: an import inside a function, ``from bot import store``, a relative import and a
    TYPE_CHECKING block (allowed)."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\nfrom bot import store\n"
        "if TYPE_CHECKING:\n    import sqlalchemy\n"
        "def f():\n    from rasa_sdk import Tracker\n"
        "from .store.db import repositories\n",
        encoding="utf-8",
    )
    assert offenders([sample], FORBIDDEN_IN_CORE) == [
        "sample.py:2 imports bot.store",
        "sample.py:6 imports rasa_sdk",
        "sample.py:7 imports bot.store.db",
    ]


def test_the_pure_core_imports_no_rasa_sanic_or_store():
    found = offenders(core_modules(), FORBIDDEN_IN_CORE)
    assert not found, "the pure core must not import Rasa, sanic or the store:\n" + "\n".join(found)


def test_use_cases_import_no_rasa_or_sanic():
    found = offenders(use_case_modules(), FORBIDDEN_IN_USE_CASES)
    assert not found, "use-case modules must not import Rasa, sanic or an adapter:\n" + "\n".join(found)


def test_every_module_of_bot_is_in_one_layer():
    """A module in no layer would be checked by nothing (a new sub-package, say)."""
    layered = {*core_modules(), *use_case_modules(), *store_modules(), BOT / "__main__.py"}
    unplaced = [_shown(p) for p in sorted(BOT.rglob("*.py")) if p not in layered and "migrations" not in p.parts]
    assert not unplaced, f"in no layer of tests/test_architecture.py: {unplaced}"


def test_the_case_store_imports_no_rasa_sanic_or_adapter():
    found = offenders(store_modules(), FORBIDDEN_IN_STORE)
    assert not found, "bot/store must not import Rasa, sanic or an adapter:\n" + "\n".join(found)


def test_plugins_import_no_action_module():
    found = offenders(plugin_modules(), FORBIDDEN_IN_PLUGINS)
    assert not found, "plugins/ must not import the action adapters:\n" + "\n".join(found)


def test_no_action_module_imports_another():
    """Sideways imports make one capability's adapter depend on another's: shared code goes to a use
    case in bot/ or, for adapter glue, to actions/common.py."""
    found = []
    for path in sorted(ACTIONS.glob("*.py")):
        own = module_name(path)
        found += [
            f"{_shown(path)}:{line} imports {imported}"
            for line, imported in imports_of(path)
            if imported.startswith("actions.")
            and imported.count(".") == 1
            and imported not in (SHARED_ACTION_MODULE, own)
        ]
    assert not found, "an action module imports another action module:\n" + "\n".join(found)


def _is_store_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "store"


def _bound_to_store(target: ast.expr, value: ast.expr) -> List[str]:
    """The names ``target = value`` binds to ``store()`` (also ``repos, role = store(), x``)."""
    if isinstance(target, ast.Name) and _is_store_call(value):
        return [target.id]
    if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and len(target.elts) == len(value.elts):
        return [name for t, v in zip(target.elts, value.elts) for name in _bound_to_store(t, v)]
    return []


def repository_uses(path: Path) -> List[str]:
    """``file:line uses store().X`` wherever an action reaches into the repositories itself: on
    ``store()`` directly, or on a name bound to it in the same function. Passing ``store()`` to a use
    case is the one allowed use."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for function in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
        bound = {
            name
            for node in ast.walk(function)
            if isinstance(node, ast.Assign)
            for target in node.targets
            for name in _bound_to_store(target, node.value)
        }
        for node in ast.walk(function):
            if isinstance(node, ast.Attribute) and (
                _is_store_call(node.value) or (isinstance(node.value, ast.Name) and node.value.id in bound)
            ):
                found.append(f"{_shown(path)}:{node.lineno} uses store().{node.attr}")
    return sorted(set(found))


def test_the_repository_check_sees_direct_and_bound_uses(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def a():\n    return store().cases.get(1)\n"
        "def b():\n    repos = store()\n    return repos.notes\n"
        "def c():\n    repos = store()\n    return use_case(repos, store())\n"
        "def d():\n    repos, role = store(), 1\n    return repos.followups\n",
        encoding="utf-8",
    )
    assert repository_uses(sample) == [
        "sample.py:11 uses store().followups",
        "sample.py:2 uses store().cases",
        "sample.py:5 uses store().notes",
    ]


def test_actions_reach_the_store_only_through_a_use_case():
    """An action that reads or writes a repository itself has started deciding what to store: that
    belongs in a use case in bot/ (loaded, decided, stored, returned). ``actions.common`` keeps the one
    shared read every action needs first: the user's current case."""
    found = []
    for path in sorted(ACTIONS.glob("*.py")):
        if module_name(path) != SHARED_ACTION_MODULE:
            found += repository_uses(path)
    assert not found, "an action uses a repository directly:\n" + "\n".join(found)
