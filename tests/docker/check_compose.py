#!/usr/bin/env python3
"""Checks docker/compose.yml and docker/Dockerfile without a Docker engine.

What can be checked offline: the compose file parses; every build context and Dockerfile it
names exists; the config files it mounts exist and pass `image-gateway --check-config` with the
environment the compose file gives; the executables it runs are CMake targets; the services
point at each other consistently (ports, OPPO credentials, the demo caller in the header); the
Dockerfile builds with scripts/build.sh, runs as a non-root user, has a HEALTHCHECK on /healthz
and copies both executables.

Usage: check_compose.py SOURCE_DIR IMAGE_GATEWAY_BINARY
"""
import json
import os
import re
import subprocess
import sys

import yaml

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
    return condition


def as_list(value):
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    return list(value)


def env_of(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def option(args, name):
    """The value after `name` in an argument list, or None."""
    for i, arg in enumerate(args[:-1]):
        if arg == name:
            return args[i + 1]
    return None


def main():
    source, binary = sys.argv[1], sys.argv[2]
    docker_dir = os.path.join(source, "docker")
    compose_path = os.path.join(docker_dir, "compose.yml")
    with open(compose_path, encoding="utf-8") as f:
        compose_text = f.read()
    compose = yaml.safe_load(compose_text)
    check(isinstance(compose, dict), "compose.yml is not a mapping")
    services = compose.get("services") or {}
    check({"gateway", "oppo-sandbox", "images"} <= set(services),
          f"services gateway, oppo-sandbox and images expected, got {sorted(services)}")

    with open(os.path.join(source, "CMakeLists.txt"), encoding="utf-8") as f:
        targets = set(re.findall(r"add_executable\(\s*([\w-]+)", f.read()))

    dockerfiles = set()
    for name, service in services.items():
        build = service.get("build")
        check(build is not None, f"{name}: no build section (its image would be pulled)")
        if build is not None:
            if isinstance(build, str):
                build = {"context": build}
            context = os.path.normpath(os.path.join(docker_dir, build.get("context", ".")))
            check(os.path.isdir(context), f"{name}: build context {context} does not exist")
            dockerfile = os.path.join(context, build.get("dockerfile", "Dockerfile"))
            if check(os.path.isfile(dockerfile), f"{name}: {dockerfile} does not exist"):
                dockerfiles.add(os.path.normpath(dockerfile))

        # The executable each service runs must be one the build makes.
        entry = as_list(service.get("entrypoint")) or ["image-gateway"]
        check(entry[0] in targets, f"{name}: runs '{entry[0]}', not a CMake target {targets}")

        for volume in service.get("volumes") or []:
            host = volume.split(":")[0] if isinstance(volume, str) else volume.get("source")
            if host.startswith((".", "/")):
                path = os.path.normpath(os.path.join(docker_dir, host))
                check(os.path.exists(path), f"{name}: mounted {host} does not exist ({path})")

        healthcheck = service.get("healthcheck")
        if healthcheck:
            test = " ".join(as_list(healthcheck.get("test")))
            check("/healthz" in test, f"{name}: healthcheck does not probe /healthz: {test}")

    # The gateway's config: mounted, valid with the compose environment, pointing at the others.
    gateway = services.get("gateway", {})
    command = as_list(gateway.get("command"))
    inside = option(command, "--config")
    check(inside is not None, "gateway: no --config in its command")
    mounted = None
    for volume in gateway.get("volumes") or []:
        parts = volume.split(":")
        if len(parts) >= 2 and parts[1] == inside:
            mounted = os.path.normpath(os.path.join(docker_dir, parts[0]))
    if check(mounted is not None, f"gateway: {inside} is not a mounted file"):
        env = dict(os.environ)
        for key in list(env):
            if key.endswith(("_SECRET", "_KEY")) or key == "IMAGE_GATEWAY_CONFIG":
                del env[key]
        env.update(env_of(gateway))
        run = subprocess.run([binary, "--check-config", "--config", mounted], env=env,
                             capture_output=True, text=True, timeout=30)
        check(run.returncode == 0,
              f"gateway config {mounted} fails --check-config: {run.stderr.strip()}")
        without_env = subprocess.run(
            [binary, "--check-config", "--config", mounted],
            env={k: v for k, v in env.items() if k not in env_of(gateway)},
            capture_output=True, text=True, timeout=30)
        check(without_env.returncode == 2,
              "the config should need the compose environment for its secrets (${NAME})")

        with open(mounted, encoding="utf-8") as f:
            settings = json.load(f)
        listen_port = settings.get("server", {}).get("listen", "0.0.0.0:8080").rsplit(":", 1)[1]
        ports = [str(p).split(":")[-1] for p in gateway.get("ports") or []]
        check(listen_port in ports, f"gateway listens on {listen_port}, publishes {ports}")

        sandbox_args = as_list(services.get("oppo-sandbox", {}).get("command"))
        sandbox_port = (option(sandbox_args, "--listen") or "").rsplit(":", 1)[-1]
        for key in ("auth_base_url", "media_base_url"):
            url = settings.get("oppo", {}).get(key, "")
            check(url == f"http://oppo-sandbox:{sandbox_port}",
                  f"oppo.{key} is {url}, the sandbox listens on port {sandbox_port}")
        gateway_env = env_of(gateway)
        check(option(sandbox_args, "--app-key") == gateway_env.get("OPPO_APP_KEY"),
              "the sandbox's --app-key differs from the gateway's OPPO_APP_KEY")
        check(option(sandbox_args, "--master-secret") == gateway_env.get("OPPO_MASTER_SECRET"),
              "the sandbox's --master-secret differs from the gateway's OPPO_MASTER_SECRET")

        # The demo request in the header comment works against this stack.
        demo = re.search(r"curl -u ([^:\s]+):(\S+)", compose_text)
        if check(demo is not None, "no demo curl -u line in compose.yml"):
            app = settings["apps"][0]
            check(demo.group(1) == app["app_key"], "demo app key differs from apps[0].app_key")
            secret_var = re.fullmatch(r"\$\{(\w+)\}", app["master_secret"])
            check(secret_var is not None and
                  gateway_env.get(secret_var.group(1)) == demo.group(2),
                  "demo secret differs from the gateway's environment")
        images_port = (option(as_list(services.get("images", {}).get("command")), "--listen")
                       or "").rsplit(":", 1)[-1]
        for url in re.findall(r"http://images:(\d+)/", compose_text):
            check(url == images_port, f"demo image URL port {url}, images listens on {images_port}")

    # The Dockerfile(s): multi-stage Debian 12, the README's build script, non-root, healthcheck.
    check(len(dockerfiles) == 1, f"one Dockerfile expected, got {sorted(dockerfiles)}")
    for path in dockerfiles:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        lines = [re.sub(r"\s+", " ", l.strip()) for l in text.replace("\\\n", " ").splitlines()
                 if l.strip() and not l.strip().startswith("#")]
        froms = [l for l in lines if l.upper().startswith("FROM ")]
        check(len(froms) >= 2, f"{path}: not multi-stage")
        check(all(re.match(r"FROM debian:12(\b|-)", l) for l in froms),
              f"{path}: every stage should be Debian 12: {froms}")
        check(any(l.startswith("RUN") and "scripts/build.sh" in l for l in lines),
              f"{path}: does not build with scripts/build.sh")
        check(os.path.isfile(os.path.join(source, "scripts", "build.sh")), "scripts/build.sh missing")
        users = [l.split(None, 1)[1] for l in lines if l.upper().startswith("USER ")]
        check(bool(users) and users[-1].split(":")[0] not in ("root", "0"),
              f"{path}: the last USER should be non-root: {users}")
        health = [l for l in lines if l.upper().startswith("HEALTHCHECK")]
        check(bool(health) and "/healthz" in health[-1], f"{path}: no HEALTHCHECK on /healthz")
        copies = " ".join(l for l in lines if l.upper().startswith("COPY --FROM"))
        for exe in ("image-gateway", "oppo-sandbox"):
            check(exe in targets, f"{exe} is not a CMake target")
            check(re.search(r"/" + re.escape(exe) + r"\b", copies) is not None,
                  f"{path}: {exe} is not copied into the final image")
        for l in lines:
            if l.upper().startswith("COPY ") and not l.upper().startswith("COPY --FROM"):
                for src in l.split()[1:-1]:
                    if not src.startswith("--"):
                        check(os.path.exists(os.path.join(source, src)),
                              f"{path}: COPY source {src} does not exist")
        entry = [l for l in lines if l.upper().startswith("ENTRYPOINT")]
        check(bool(entry) and "image-gateway" in entry[-1], f"{path}: ENTRYPOINT not image-gateway")

    if failures:
        for message in failures:
            print("FAIL:", message)
        return 1
    print(f"compose.yml and Dockerfile: all checks passed ({len(services)} services)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
