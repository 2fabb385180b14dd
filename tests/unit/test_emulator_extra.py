"""Without the ``emulator`` extra the emulator package still imports and says what is missing.

Simulated in a subprocess by making starlette and uvicorn unimportable; the real thing (a
wheel in a fresh venv) is tests/packaging/test_wheel.py.
"""

from __future__ import annotations

import subprocess
import sys

HINT = 'pip install "as2gw_async[emulator]"'

_NO_EXTRA = "import sys\nsys.modules['starlette'] = None\nsys.modules['uvicorn'] = None\n"


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _NO_EXTRA + code],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_the_package_and_the_plugin_import_without_the_extra() -> None:
    result = _python(
        "import as2gw_async.emulator.pytest_plugin\n"
        "from as2gw_async.emulator import Gateway\n"
        "print(len(Gateway().seed(3)))\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3"


def test_a_serving_name_says_which_extra_to_install() -> None:
    result = _python(
        "from as2gw_async.emulator import MissingExtraError\n"
        "try:\n"
        "    from as2gw_async.emulator import serve\n"
        "except MissingExtraError as exc:\n"
        "    print(exc.name, '|', exc)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("uvicorn | ") or result.stdout.startswith("starlette")
    assert HINT in result.stdout


def test_python_dash_m_emulator_says_which_extra_to_install() -> None:
    result = _python(
        "import runpy\nsys.argv = ['as2gw_async.emulator']\n"
        "runpy.run_module('as2gw_async.emulator', run_name='__main__')\n"
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("python -m as2gw_async.emulator: error: the emulator needs")
    assert HINT in result.stderr


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    import pytest

    import as2gw_async.emulator as emulator

    with pytest.raises(AttributeError, match="no_such_thing"):
        _ = emulator.no_such_thing  # type: ignore[attr-defined]
