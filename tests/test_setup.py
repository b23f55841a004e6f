"""The Makefile's set-up refuses a new venv on a disk too full for it, before pip starts."""
import subprocess

from ceimb_utils import paths


def test_setup_refuses_new_venv_without_disk_space(tmp_path):
    venv = tmp_path / "venv"
    done = subprocess.run(["make", "-C", str(paths.ROOT), "setup", f"VENV={venv}", "VENV_FREE_MB=1000000000"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "needs about 1000000000 MB of free disk" in done.stderr
    assert not venv.exists()
