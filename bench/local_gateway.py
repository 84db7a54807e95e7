"""One image-gateway process on 127.0.0.1 with a throw-away config, for the bench scripts."""
import contextlib
import json
import os
import socket
import subprocess
import tempfile
import time

APP_KEY, APP_SECRET = "bench-app", "bench-secret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def local_gateway(binary, open_files=None, stdout=subprocess.DEVNULL):
    """Yields (process, port) once the gateway accepts connections; stops it afterwards.
    open_files: run it under `ulimit -n open_files` (soft and hard)."""
    port = free_port()
    config = {
        "server": {"listen": f"127.0.0.1:{port}", "threads": 1},
        "apps": [{"app_key": APP_KEY, "master_secret": APP_SECRET,
                  "oppo": {"app_key": "k", "master_secret": "s"}}],
        "oppo": {"auth_base_url": "http://127.0.0.1:9", "media_base_url": "http://127.0.0.1:9"},
        "log": {"level": "warn"},
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(config, f)
        config_path = f.name
    command = [binary, "--config", config_path]
    if open_files is not None:
        command = ["bash", "-c",
                   f'ulimit -Sn {open_files}; ulimit -Hn {open_files}; exec "$0" --config "$1"',
                   binary, config_path]
    gateway = subprocess.Popen(command, stdout=stdout, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield gateway, port
    finally:
        gateway.terminate()
        try:
            gateway.wait(10)
        except subprocess.TimeoutExpired:
            gateway.kill()
        os.unlink(config_path)
