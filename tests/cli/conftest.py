import pytest


@pytest.fixture
def one_line_error():
    """Reads a failed command's error: one line, the last, no traceback."""

    def read(capsys):
        err = capsys.readouterr().err.strip()
        errors = [line for line in err.splitlines() if "error:" in line]
        assert len(errors) == 1 and err.splitlines()[-1] == errors[0], err
        assert "Traceback" not in err
        return errors[0]

    return read
