"""Tests of helpers.assignments and of every self-checking assignment in the notebooks.

Assignments are found by parsing the notebooks: a markdown cell with an ``{exercise}`` whose
label starts with ``asg-``, the code cell right after it (tagged ``assignment``: the stub and
the checker call) and the ``{solution}`` cell right after that (the reference answer in
``~~~python`` fences). For each one, the stub must print "Not answered yet" and return False,
and the solution must pass. Every checker the notebooks use must have wrong answers below.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from helpers import assignments
from helpers.assignments import WrongAnswer

ROOT = Path(__file__).resolve().parents[1]
LABEL = re.compile(r"^```\{exercise\}.*?\n:label:\s*(asg-[\w-]+)", re.S | re.M)
FENCE = re.compile(r"^~~~python\n(.*?)^~~~\s*$", re.S | re.M)


def _assignments():
    """``(notebook, label, exercise, stub cell, solution cell, imports)`` for every ``asg-``."""
    found = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        imports = []
        for cell in nb.cells:
            if cell.cell_type == "code":
                try:
                    tree = ast.parse(cell.source)
                except SyntaxError:
                    continue
                imports += [node for node in tree.body
                            if isinstance(node, ast.Import | ast.ImportFrom)]
        for i, cell in enumerate(nb.cells):
            match = LABEL.search(cell.source) if cell.cell_type == "markdown" else None
            if match:
                label = match.group(1)
                stub = nb.cells[i + 1] if i + 1 < len(nb.cells) else None
                solution = nb.cells[i + 2] if i + 2 < len(nb.cells) else None
                found.append(pytest.param(path.name, label, cell, stub, solution, imports,
                                          id=f"{path.stem[:2]}-{label}"))
    return found


ASSIGNMENTS = _assignments()


def _checker_calls(source: str) -> list[ast.Call]:
    """The top-level ``assignments.<name>(...)`` calls of an assignment cell."""
    return [node.value for node in ast.parse(source).body
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute)
            and isinstance(node.value.func.value, ast.Name)
            and node.value.func.value.id == "assignments"]


def _bound_names(source: str) -> set[str]:
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                for leaf in ast.walk(target):
                    if isinstance(leaf, ast.Name):
                        names.add(leaf.id)
    return names


def _namespace(imports) -> dict:
    ns: dict = {}
    exec(compile(ast.Module(body=list(imports), type_ignores=[]), "<imports>", "exec"), ns)
    return ns


def _run_calls(calls, ns) -> list:
    return [bool(eval(compile(ast.Expression(body=call), "<checker>", "eval"), ns))
            for call in calls]


def _solution_code(solution) -> str:
    return "\n".join(FENCE.findall(solution.source))


def test_assignments_exist():
    labels = [p.values[1] for p in ASSIGNMENTS]
    assert len(labels) >= 5, labels
    assert len(set(labels)) == len(labels), "assignment labels must be unique"
    parts = {p.values[0][:2] for p in ASSIGNMENTS}
    assert parts, "no notebook has an assignment"


@pytest.mark.parametrize("notebook, label, exercise, stub, solution, imports", ASSIGNMENTS)
def test_assignment_layout(notebook, label, exercise, stub, solution, imports):
    assert "assignments." in exercise.source, \
        f"{notebook} {label}: name the checker in the exercise"
    assert stub is not None and stub.cell_type == "code", f"{label}: no code cell after it"
    assert "assignment" in stub.metadata.get("tags", []), f"{label}: tag the stub 'assignment'"
    assert _checker_calls(stub.source), f"{label}: the stub cell calls no assignments.<name>(...)"
    assert solution is not None and solution.cell_type == "markdown"
    assert re.search(rf"^```\{{solution\}} {re.escape(label)}\s*\n:class: dropdown",
                     solution.source, re.M), f"{label}: dropdown solution must follow the stub"
    code = _solution_code(solution)
    assert code, f"{label}: the solution has no ~~~python block"
    missing = _bound_names(stub.source) - _bound_names(code)
    assert not missing, f"{label}: the solution does not define {sorted(missing)}"


@pytest.mark.parametrize("notebook, label, exercise, stub, solution, imports", ASSIGNMENTS)
def test_stub_is_not_answered(notebook, label, exercise, stub, solution, imports, capsys):
    ns = _namespace(imports)
    calls = _checker_calls(stub.source)
    body = [node for node in ast.parse(stub.source).body
            if not (isinstance(node, ast.Expr) and node.value in calls)]
    exec(compile(ast.Module(body=body, type_ignores=[]), "<stub>", "exec"), ns)
    assert _run_calls(calls, ns) == [False] * len(calls)
    assert "Not answered yet" in capsys.readouterr().out


@pytest.mark.parametrize("notebook, label, exercise, stub, solution, imports", ASSIGNMENTS)
def test_solution_passes(notebook, label, exercise, stub, solution, imports, capsys):
    ns = _namespace(imports)
    exec(compile(_solution_code(solution), f"<solution {label}>", "exec"), ns)
    assert _run_calls(_checker_calls(stub.source), ns) == [True] * len(_checker_calls(
        stub.source))
    assert "Correct:" in capsys.readouterr().out


# --- wrong answers, one or more per checker --------------------------------------------------

def _fs(m, n, S0):
    return 1 - (1 - 1 / n) ** m * (1 - S0)


def _ps(m, n, N, S0, sign=1.0, shift=0):
    m = m + shift
    if m == 0:
        return S0
    a = n / (N + n)
    b = a * ((1 + 1 / N) * a - 1 / N)
    d = 1 + (1 + 1 / N) * a
    return ((1 + 2 * a - (1 - 1 / N) * a * b ** (m - 1)) / (N * d)
            + (1 - 1 / N) * S0 * (1 + a + sign * a / N * b ** (m - 1)) / d)


def _decode(p, t, k):
    w = np.asarray(p, float) ** (1 / t)
    w[np.argsort(-w, kind="stable")[k:]] = 0
    return w / w.sum()


def _count(V, T, C, L):
    return V * C + T * C + L * (12 * C * C + 2 * C) + C


def _count_bias(V, T, C, L):
    return V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C


def _sigmas(m, runs=4000, seed=0):
    from helpers import statmodel, theory

    traj = statmodel.fully_synthetic(np.array([0.5, 0.3, 0.2]), 10, 6, runs=runs, seed=seed)
    return theory.sigma(traj[:, m])


EXACT_T = 29.428847567085622  # statmodel.exact_collapse_time([0.5, 0.3, 0.2], 20)

WRONG = {
    "sigma_formula": [
        (lambda: assignments.sigma_formula(lambda m, n, S0: 0.3),
         "at m=3, n=10, S_0=0.20 is 0.3000 but Theorem 1 gives 0.4168; did you use"),
        (lambda: assignments.sigma_formula(lambda m, n, S0: 1 - _fs(m, n, S0)),
         "you returned 1 - S_m"),
        (lambda: assignments.sigma_formula(lambda m, n, S0: _fs(m + 1, n, S0)), "off by one"),
        (lambda: assignments.sigma_formula(lambda m, n, S0: 1 - (1 - 1 / n) ** m), "(1 - S_0) is"),
        (lambda: assignments.sigma_formula(lambda m, n, S0: 1 - np.exp(-m / n) * (1 - S0)),
         "large-n approximation"),
    ],
    "sigma_simulation": [
        (lambda: assignments.sigma_simulation(_sigmas(4), m=5), "off by one generation"),
        (lambda: assignments.sigma_simulation(_sigmas(5), n=20, m=5), "standard errors off"),
        (lambda: assignments.sigma_simulation(np.full(500, 0.1), m=5), "[1/s~, 1]"),
    ],
    "collapse_time": [
        (lambda: assignments.collapse_time(EXACT_T / 20, 0.01), "E[T]/n"),
        (lambda: assignments.collapse_time(EXACT_T / 2, 0.1), "off by a factor 0.50"),
        (lambda: assignments.collapse_time(EXACT_T - 1), "off by one generation"),
        (lambda: assignments.collapse_time(18.67, 0.05), "lower bound"),
        (lambda: assignments.collapse_time(EXACT_T, 5.0), "more than 5%"),
    ],
    "partial_sigma_formula": [
        (lambda: assignments.partial_sigma_formula(lambda m, n, N, S0: _ps(m, n, N, S0, sign=-1)),
         "the sign printed in the paper"),
        (lambda: assignments.partial_sigma_formula(lambda m, n, N, S0: _ps(m, n, N, S0, shift=1)),
         "off by one generation"),
        (lambda: assignments.partial_sigma_formula(lambda m, n, N, S0: _fs(m, n, S0)), "Theorem 1"),
        (lambda: assignments.partial_sigma_formula(
            lambda m, n, N, S0: _ps(m, n, N, S0) if m else 0),
         "must be S0 itself"),
    ],
    "temperature_top_k": [
        (lambda: assignments.temperature_top_k(lambda p, t, k: _decode(p, 1 / t, k)),
         "power temperature"),
        (lambda: assignments.temperature_top_k(lambda p, t, k: 2 * _decode(p, t, k)),
         "renormalise"),
        (lambda: assignments.temperature_top_k(lambda p, t, k: _decode(p, t, len(p))),
         "top-k with k = 2 keeps 2"),
        (lambda: assignments.temperature_top_k(lambda p, t, k: _decode(p, t, k)[:-1]), "shape"),
    ],
    "parameter_count": [
        (lambda: assignments.parameter_count(lambda V, T, C, L: _count(V, T, C, L) + V * C),
         "tied"),
        (lambda: assignments.parameter_count(lambda V, T, C, L: _count(V, T, C, L) - T * C),
         "position embedding"),
        (lambda: assignments.parameter_count(lambda V, T, C, L: _count(V, T, C, L) - 2 * L * C),
         "two LayerNorms"),
        (lambda: assignments.parameter_count(_count, bias=True), "biases are missing"),
        (lambda: assignments.parameter_count(_count_bias), "bias=False"),
        (lambda: assignments.parameter_count(lambda V, T, C, L: "many"), "must return a number"),
    ],
}


@pytest.mark.parametrize("name, k", [(name, k) for name, cases in WRONG.items()
                                     for k in range(len(cases))])
def test_wrong_answer_is_explained(name, k, capsys):
    attempt, phrase = WRONG[name][k]
    with pytest.raises(WrongAnswer) as err:
        attempt()
    assert phrase in str(err.value), str(err.value)
    assert "Correct" not in capsys.readouterr().out


def test_every_checker_has_wrong_answers():
    used = {call.func.attr for p in ASSIGNMENTS for call in _checker_calls(p.values[3].source)}
    public = {name for name in assignments.__all__ if callable(getattr(assignments, name))
              and name != "WrongAnswer"}
    assert used <= public, f"the notebooks call unknown checkers {used - public}"
    assert public <= set(WRONG), f"checkers without wrong-answer tests: {public - set(WRONG)}"


def test_wrong_answer_is_an_assertion_error():
    assert issubclass(WrongAnswer, AssertionError)


# --- stubs and right answers called directly ---------------------------------------------------

def _raises_not_implemented(*args):
    raise NotImplementedError("write it here")


@pytest.mark.parametrize("call", [
    lambda a: assignments.sigma_formula(a),
    lambda a: assignments.partial_sigma_formula(a),
    lambda a: assignments.temperature_top_k(a),
    lambda a: assignments.parameter_count(a),
])
@pytest.mark.parametrize("stub", [None, ..., _raises_not_implemented])
def test_function_stubs_are_not_answered(call, stub, capsys):
    verdict = call(stub)
    assert isinstance(verdict, assignments.Verdict) and not verdict
    assert "Not answered yet" in capsys.readouterr().out


@pytest.mark.parametrize("call", [
    lambda a: assignments.sigma_simulation(a),
    lambda a: assignments.collapse_time(a),
])
@pytest.mark.parametrize("stub", [None, ...])
def test_value_stubs_are_not_answered(call, stub, capsys):
    verdict = call(stub)
    assert isinstance(verdict, assignments.Verdict) and not verdict
    assert "Not answered yet" in capsys.readouterr().out


def test_right_answers_pass(capsys):
    assert assignments.sigma_formula(_fs)
    assert assignments.partial_sigma_formula(_ps)
    assert assignments.temperature_top_k(_decode)
    assert assignments.parameter_count(_count)
    assert assignments.parameter_count(_count_bias, bias=True)
    assert assignments.collapse_time(EXACT_T) and assignments.collapse_time(EXACT_T + 0.3, 0.1)
    assert assignments.sigma_simulation(_sigmas(5))
    out = capsys.readouterr().out
    assert out.count("Correct:") == 8


def test_student_errors_become_wrong_answers():
    def broken(m, n, S0):
        return undefined_name  # noqa: F821

    with pytest.raises(WrongAnswer, match="NameError") as err:
        assignments.sigma_formula(broken)
    assert isinstance(err.value.__cause__, NameError)


def test_torch_output_is_accepted():
    torch = pytest.importorskip("torch")
    assert assignments.temperature_top_k(lambda p, t, k: torch.from_numpy(_decode(p, t, k)))


# --- argument validation -------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, phrase", [
    (lambda: assignments.sigma_formula(0.4), TypeError, "must be a function"),
    (lambda: assignments.partial_sigma_formula("1 - S0"), TypeError, "must be a function"),
    (lambda: assignments.temperature_top_k([0.5, 0.5]), TypeError, "must be a function"),
    (lambda: assignments.parameter_count(6_345_216), TypeError, "must be a function"),
    (lambda: assignments.parameter_count(_count, bias="no"), TypeError, "bias must be"),
    (lambda: assignments.sigma_simulation(_sigmas(5), p0=[0.5, 0.6]), ValueError, "sums to"),
    (lambda: assignments.sigma_simulation(_sigmas(5), n=0), ValueError, "n must be"),
    (lambda: assignments.sigma_simulation(_sigmas(5), m=2.5), TypeError, "m must be an integer"),
    (lambda: assignments.sigma_simulation(np.ones(50)), ValueError, "at least 100"),
    (lambda: assignments.sigma_simulation(np.ones((200, 2))), ValueError, "must be 1-D"),
    (lambda: assignments.sigma_simulation(np.full((200, 3), 1 / 3)), ValueError, "theory.sigma"),
    (lambda: assignments.sigma_simulation("abc"), TypeError, "array of numbers"),
    (lambda: assignments.sigma_simulation(_sigmas), TypeError, "not a function"),
    (lambda: assignments.collapse_time("30"), TypeError, "must be a number"),
    (lambda: assignments.collapse_time(30.0, sem="0.1"), TypeError, "sem must be a number"),
    (lambda: assignments.collapse_time(30.0, sem=-0.1), ValueError, "positive"),
    (lambda: assignments.collapse_time(30.0, p0=[[0.5, 0.5]]), ValueError, "shape"),
    (lambda: assignments.collapse_time(30.0, n=10**4), ValueError, "states"),
])
def test_argument_validation(call, error, phrase):
    with pytest.raises(error) as err:
        call()
    assert phrase in str(err.value)
