#!/usr/bin/env python3
"""Checks that docker/compose.yml, its gateway config and docker/haproxy.cfg agree, without a
container engine, so that `scripts/test.sh` notices at once when a change breaks the stack's files.

scripts/container-test.sh runs the stack for real (CI); this quick check covers what the files must
agree on: each replica's mounted config passes `image-gateway --check-config` with that service's
environment (and needs it: secrets are ${NAME}); the balancer's servers are exactly the replicas,
on the port they listen on, checked on /readyz; the replicas' OPPO and Redis URLs name services of
the stack on their ports; the sandbox takes the replicas' OPPO credentials; and the demo request in
the compose file's header uses the configured caller and the image origin's port.

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
    return value.split() if isinstance(value, str) else list(value)


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


def port_of(address):
    return (address or "").rsplit(":", 1)[-1]


def mounted_file(service, inside, docker_dir):
    for volume in service.get("volumes") or []:
        parts = volume.split(":")
        if len(parts) >= 2 and parts[1] == inside:
            return os.path.normpath(os.path.join(docker_dir, parts[0]))
    return None


def check_config(name, service, docker_dir, binary):
    """Runs --check-config on the replica's mounted config; returns the parsed settings."""
    inside = option(as_list(service.get("command")), "--config")
    path = mounted_file(service, inside, docker_dir) if inside else None
    if not check(path is not None and os.path.isfile(path),
                 f"{name}: --config {inside} is not a mounted file"):
        return None
    env = {k: v for k, v in os.environ.items()
           if not k.endswith(("_SECRET", "_KEY")) and k != "IMAGE_GATEWAY_CONFIG"}
    with_env = subprocess.run([binary, "--check-config", "--config", path],
                              env={**env, **env_of(service)}, capture_output=True, text=True,
                              timeout=30)
    check(with_env.returncode == 0,
          f"{name}: {path} fails --check-config: {with_env.stderr.strip()}")
    without_env = subprocess.run([binary, "--check-config", "--config", path], env=env,
                                 capture_output=True, text=True, timeout=30)
    check(without_env.returncode == 2,
          f"{name}: the config should need the compose environment for its secrets (${{NAME}})")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def main():
    source, binary = sys.argv[1], sys.argv[2]
    docker_dir = os.path.join(source, "docker")
    with open(os.path.join(docker_dir, "compose.yml"), encoding="utf-8") as f:
        compose_text = f.read()
    services = (yaml.safe_load(compose_text) or {}).get("services") or {}
    replicas = sorted(name for name, s in services.items()
                      if s.get("image", "").startswith("image-gateway")
                      and not as_list(s.get("entrypoint")))
    check(len(replicas) >= 2, f"at least two gateway replicas expected, got {replicas}")
    for name in ("lb", "redis", "oppo-sandbox", "images"):
        check(name in services, f"no service {name}")
    if failures:
        return report(services)

    settings = {name: check_config(name, services[name], docker_dir, binary) for name in replicas}
    first = settings[replicas[0]]
    if first is None:
        return report(services)
    listen_port = port_of(first.get("server", {}).get("listen", "0.0.0.0:8080"))

    # The balancer: exactly the replicas, on their port, checked on /readyz.
    lb = services["lb"]
    cfg_inside = "/usr/local/etc/haproxy/haproxy.cfg"
    cfg_path = mounted_file(lb, cfg_inside, docker_dir)
    if check(cfg_path is not None and os.path.isfile(cfg_path), f"lb: {cfg_inside} not mounted"):
        with open(cfg_path, encoding="utf-8") as f:
            haproxy = f.read()
        servers = re.findall(r"^\s*server\s+\S+\s+([\w.-]+):(\d+)", haproxy, re.M)
        check(sorted(host for host, _ in servers) == replicas,
              f"haproxy servers {servers} are not the replicas {replicas}")
        check(all(port == listen_port for _, port in servers),
              f"haproxy server ports {servers}, the replicas listen on {listen_port}")
        check(re.search(r"option\s+httpchk\s+GET\s+/readyz", haproxy) is not None,
              "haproxy does not check /readyz")
        bind = re.search(r"^\s*bind\s+\S*:(\d+)", haproxy, re.M)
        published = [port_of(str(p)) for p in lb.get("ports") or []]
        check(bind is not None and bind.group(1) in published,
              f"haproxy binds {bind and bind.group(1)}, lb publishes {published}")

    # The replicas point at the stack's own services.
    sandbox_args = as_list(services["oppo-sandbox"].get("command"))
    sandbox_port = port_of(option(sandbox_args, "--listen"))
    for name in replicas:
        s = settings[name]
        if s is None:
            continue
        check(s == first, f"{name}: its config differs from {replicas[0]}'s")
        for key in ("auth_base_url", "media_base_url"):
            url = s.get("oppo", {}).get(key, "")
            check(url == f"http://oppo-sandbox:{sandbox_port}",
                  f"{name}: oppo.{key} is {url}, the sandbox listens on port {sandbox_port}")
        redis_url = s.get("redis", {}).get("url", "")
        check(redis_url == "redis://redis:6379",
              f"{name}: redis.url is '{redis_url}', the stack's Redis is redis://redis:6379")
        env = env_of(services[name])
        check(option(sandbox_args, "--app-key") == env.get("OPPO_APP_KEY"),
              f"the sandbox's --app-key differs from {name}'s OPPO_APP_KEY")
        check(option(sandbox_args, "--master-secret") == env.get("OPPO_MASTER_SECRET"),
              f"the sandbox's --master-secret differs from {name}'s OPPO_MASTER_SECRET")

    # The demo request in the header comment works against this stack.
    demo = re.search(r"curl -u ([^:\s]+):(\S+)", compose_text)
    if check(demo is not None, "no demo curl -u line in compose.yml"):
        app = first["apps"][0]
        check(demo.group(1) == app["app_key"], "demo app key differs from apps[0].app_key")
        secret_var = re.fullmatch(r"\$\{(\w+)\}", app["master_secret"])
        check(secret_var is not None and
              env_of(services[replicas[0]]).get(secret_var.group(1)) == demo.group(2),
              "demo secret differs from the replicas' environment")
    images_port = port_of(option(as_list(services["images"].get("command")), "--listen"))
    for port in re.findall(r"http://images:(\d+)/", compose_text):
        check(port == images_port, f"demo image URL port {port}, images listens on {images_port}")
    check_cluster(docker_dir, binary, services, replicas, first)
    return report(services)


def check_cluster(docker_dir, binary, services, replicas, standalone):
    """docker/compose.cluster.yml on top of compose.yml: three cluster nodes, made into a cluster
    by the one-shot service, and every replica's config swapped (same mount point) for one that
    differs from the standalone config only in `redis`: mode cluster, the nodes as seeds."""
    with open(os.path.join(docker_dir, "compose.cluster.yml"), encoding="utf-8") as f:
        cluster = (yaml.safe_load(f) or {}).get("services") or {}
    nodes = sorted(name for name, s in cluster.items()
                   if "--cluster-enabled" in as_list(s.get("command")))
    check(len(nodes) == 3, f"compose.cluster.yml: 3 cluster nodes expected, got {nodes}")
    create = cluster.get("redis-cluster-create") or {}
    check(sorted(as_list(create.get("command"))) == nodes,
          f"redis-cluster-create makes {as_list(create.get('command'))}, the nodes are {nodes}")
    inside = option(as_list(services[replicas[0]].get("command")), "--config")
    paths = {mounted_file(cluster.get(name) or {}, inside, docker_dir) for name in replicas}
    path = paths.pop() if len(paths) == 1 else None
    if not check(path is not None and os.path.isfile(path),
                 f"compose.cluster.yml: the replicas do not all mount one config at {inside}"):
        return
    with open(path, encoding="utf-8") as f:
        settings = json.load(f)
    redis = settings.pop("redis", {})
    check(settings == {k: v for k, v in standalone.items() if k != "redis"},
          f"{path}: differs from the standalone config outside `redis`")
    check(redis.get("mode") == "cluster", f"{path}: redis.mode is not \"cluster\"")
    seeds = [redis.get("url", "").removeprefix("redis://")] + list(redis.get("seeds", []))
    check(sorted(seeds) == [f"{node}:6379" for node in nodes],
          f"{path}: redis.url and seeds {seeds} are not the cluster nodes {nodes} on port 6379")
    env = env_of(services[replicas[0]])
    checked = subprocess.run([binary, "--check-config", "--config", path],
                             env={**os.environ, **env}, capture_output=True, text=True, timeout=30)
    check(checked.returncode == 0, f"{path} fails --check-config: {checked.stderr.strip()}")


def report(services):
    if failures:
        for message in failures:
            print("FAIL:", message)
        return 1
    print(f"compose.yml, compose.cluster.yml, their configs and haproxy.cfg agree "
          f"({len(services)} services)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
