"""`bazof completion zsh` in a real zsh (scripts/setup.sh installs zsh): the script parses
(`zsh -n`), loads in a clean zsh (`zsh -f`) registering `_bazof` for bazof, returns the CLI's
own commands and options through zsh's bash-completion layer, and completes words on an
interactive zsh's command line when TAB is pressed (driven through a pseudo-terminal).
The bash script is tested in test_names_cli.py."""
import os
import pty
import select
import shutil
import subprocess
import time

import pytest

ZSH = shutil.which("zsh")
pytestmark = pytest.mark.skipif(ZSH is None, reason="zsh is not installed (scripts/setup.sh installs it)")


@pytest.fixture
def script(run, tmp_path):
    path = tmp_path / "_bazof"
    path.write_text(run("completion", "zsh").stdout)
    return path


def zsh(*args, **kw):
    return subprocess.run([ZSH, "-f", *args], capture_output=True, text=True, timeout=60, **kw)


def test_zsh_script_parses_and_registers(script):
    p = zsh("-n", str(script))
    assert p.returncode == 0, p.stderr
    p = zsh("-c", f"source {script}; print -r -- $_comps[bazof]; whence -w _bazof")
    assert p.returncode == 0, p.stderr
    comps, kind = p.stdout.splitlines()
    assert comps.split() == ["_bash_complete", "-o", "filenames", "-F", "_bazof"]
    assert kind == "_bazof: function"


def words(script, *line):
    """What _bazof offers for `bazof <line>` (last word being completed), run by zsh's
    bashcompinit compgen as a TAB would run it."""
    arr = " ".join(f"'{w}'" for w in ("bazof", *line))
    p = zsh("-c", f"source {script}; COMP_WORDS=({arr}); COMP_CWORD={len(line)}; "
                  f"compgen -F _bazof -- '{line[-1]}'")
    assert p.returncode == 0, p.stderr
    return set(p.stdout.split())


def test_zsh_offers_the_cli_commands_and_options(run, script):
    commands = {"create", "append", "put", "delete", "scan", "diff", "compact", "vacuum", "forget",
                "completion", "gen", "watermark", "alter"}
    assert commands <= words(script, "")
    assert {"--as-of", "--as-of-commit", "--key"} <= words(script, "scan", "--")
    assert {"--progress", "--no-progress"} <= words(script, "compact", "--")
    assert {"--from-commit", "--to-commit", "--as-of-commit"} <= words(script, "diff", "--")
    assert {"add-column", "drop-column"} <= words(script, "alter", "t", "")


def test_tab_completes_on_an_interactive_zsh(script, tmp_path):
    pid, fd = pty.fork()
    if pid == 0:  # the child: an interactive zsh without any user configuration
        os.chdir(tmp_path)
        os.execvp(ZSH, [ZSH, "-f", "-i"])

    def read(seconds):
        out, end = b"", time.time() + seconds
        while time.time() < end:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    out += os.read(fd, 65536)
                except OSError:
                    break
        return out.decode("utf-8", "replace")

    def typed(keys, expect, seconds=10):
        os.write(fd, keys.encode())
        out, end = "", time.time() + seconds
        while time.time() < end and expect not in out:
            out += read(0.2)
        return out

    try:
        read(0.5)
        # 42ready is printed once the script is loaded (the typed line echoes $((6*7))ready).
        assert "42ready" in typed(f"PS1='> '; source {script}; print $((6*7))ready\n", "42ready")
        assert "bazof scan" in typed("bazof sca\t", "bazof scan")
        assert "--as-of-commit" in typed("\x15bazof scan --as-of-c\t", "--as-of-commit")
        assert "--no-progress" in typed("\x15bazof compact --no-pr\t", "--no-progress")
    finally:
        os.write(fd, b"\x15exit\n")
        read(0.3)
        os.close(fd)
        os.waitpid(pid, 0)
