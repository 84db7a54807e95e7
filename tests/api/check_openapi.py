#!/usr/bin/env python3
"""Checks docs/openapi.yaml, then checks real answers of the running gateway against it.

usage: check_openapi.py OPENAPI_YAML IMAGE_GATEWAY_BINARY OPPO_SANDBOX_BINARY

1. The document: YAML that is OpenAPI 3.1, every schema a valid JSON Schema 2020-12
   (Draft202012Validator.check_schema), every $ref resolving inside the document; and every row
   of the error table in docs/api.md (beside it) present in it with the same code and message.
2. The gateway: starts the real image-gateway and oppo-sandbox binaries on 127.0.0.1 (port 0,
   the address read from their start lines), sends a success, every error code a caller can
   provoke (21001, 23001, 21003 as 400, 413, 431 and malformed HTTP, 23002, 51, 2002, 23100, 27000
   as 500 and 503), /healthz, /readyz (ready and draining) and /metrics, and checks that each
   answer's status is documented for its path, its body matches the schema the document declares
   for that status and content type, and the documented headers are present and match theirs.
Loopback only; every process is stopped on the way out; the whole run is bounded (about 20 s).
"""

import base64
import http.client
import json
import os
import queue
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import jsonschema
import yaml

DEADLINE = time.monotonic() + 50  # CTest's TIMEOUT is 60
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print(f"FAIL: {what}", flush=True)
    return condition


# ------------------------------------------------------------------------------ the document


def resolve_pointer(document, ref):
    if not ref.startswith("#/"):
        raise KeyError(f"only local references are used: {ref}")
    node = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[part]
    return node


def walk(node, path=""):
    """Yields (path, node) for every dict in the document."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}/{index}")


def check_document(document):
    check(isinstance(document, dict), "the document is a YAML mapping")
    check(str(document.get("openapi", "")).startswith("3.1."), "openapi is 3.1.x")
    check(document.get("jsonSchemaDialect") == "https://json-schema.org/draft/2020-12/schema",
          "jsonSchemaDialect is JSON Schema 2020-12")
    for key in ("info", "paths", "components"):
        check(key in document, f"the document has {key}")
    check({"title", "version"} <= set(document.get("info", {})), "info has title and version")
    for path in ("/v4/image/oppo", "/healthz", "/readyz", "/metrics"):
        check(path in document.get("paths", {}), f"paths has {path}")

    refs = 0
    schemas = 0
    for where, node in walk(document):
        ref = node.get("$ref")
        if isinstance(ref, str):
            refs += 1
            try:
                resolve_pointer(document, ref)
            except (KeyError, IndexError, TypeError):
                check(False, f"{where}: $ref {ref} does not resolve")
        # Every Schema Object: the named ones and every `schema` of a parameter, header or body.
        candidates = []
        if where == "/components/schemas":
            candidates = list(node.items())
        elif "schema" in node and isinstance(node["schema"], dict):
            candidates = [("schema", node["schema"])]
        for name, schema in candidates:
            schemas += 1
            try:
                jsonschema.Draft202012Validator.check_schema(schema)
            except jsonschema.exceptions.SchemaError as error:
                check(False, f"{where}/{name} is not a valid JSON Schema 2020-12: {error.message}")
    check(refs > 20, f"the document uses its components ({refs} $refs)")
    check(schemas > 20, f"schemas were checked ({schemas})")
    print(f"document: {refs} $refs resolve, {schemas} schemas are JSON Schema 2020-12", flush=True)


def check_reference_agrees(document, reference):
    """Every row of docs/api.md's error table (code, HTTP status, message) is in the document:
    a schema Error<code> with that code and message, used by the upload endpoint's response for
    that status. The two documents cannot drift apart unnoticed."""
    rows = re.findall(r"^\| (\d+) \| (\d+) \| `([^`]+)` \|", reference, re.MULTILINE)
    check(len(rows) >= 10, f"docs/api.md has the error table ({len(rows)} rows)")
    responses = document["paths"]["/v4/image/oppo"]["post"]["responses"]
    for code, status, message in rows:
        schema = document["components"]["schemas"].get(f"Error{code}")
        if not check(schema is not None, f"error {code}: schema Error{code} exists"):
            continue
        error = schema["allOf"][1]["properties"]["error"]["properties"]
        check(error["code"].get("const") == int(code), f"error {code}: its code const")
        check(error["message"].get("const") == message,
              f"error {code}: message {error['message'].get('const')!r}, docs/api.md says "
              f"{message!r}")
        response = follow(document, responses.get(status))
        if not check(response is not None, f"error {code}: status {status} is documented"):
            continue
        used = {node["$ref"] for _, node in walk(response["content"]["application/json"])
                if "$ref" in node}
        check(f"#/components/schemas/Error{code}" in used,
              f"error {code}: the {status} response of /v4/image/oppo allows Error{code}")
    print(f"docs/api.md: {len(rows)} error rows agree with the document", flush=True)


def follow(document, node):
    while isinstance(node, dict) and "$ref" in node:
        node = resolve_pointer(document, node["$ref"])
    return node


def validator_for(document, schema):
    # The schema with the document's components beside it, so "#/components/..." resolves.
    rooted = dict(schema)
    rooted["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    rooted["components"] = document["components"]
    return jsonschema.Draft202012Validator(rooted)


def check_answer(document, label, path, method, answer, expect_headers=()):
    """answer: (status, headers {lower-case name: value}, body bytes)."""
    status, headers, body = answer
    operation = document["paths"].get(path, {}).get(method)
    if not check(operation is not None, f"{label}: {method.upper()} {path} is documented"):
        return
    response = follow(document, operation["responses"].get(str(status)))
    if not check(response is not None, f"{label}: status {status} is documented for {path}"):
        return
    content_type = headers.get("content-type", "")
    content = response.get("content", {})
    check(content_type in content,
          f"{label}: Content-Type '{content_type}' is documented for {path} {status}")
    if content_type == "application/json" and content_type in content:
        try:
            value = json.loads(body)
        except ValueError:
            check(False, f"{label}: body is not JSON: {body[:200]!r}")
            return
        errors = sorted(validator_for(document, content[content_type]["schema"]).iter_errors(value),
                        key=lambda e: list(e.path))
        check(not errors, f"{label}: body {value} does not match the schema for {path} {status}: "
                          + "; ".join(e.message for e in errors[:3]))
    for name, header in response.get("headers", {}).items():
        header = follow(document, header)
        value = headers.get(name.lower())
        if header.get("required"):
            check(value is not None, f"{label}: required header {name} is missing")
        if value is not None:
            errors = list(validator_for(document, header["schema"]).iter_errors(value))
            check(not errors, f"{label}: header {name}: {value!r} does not match its schema")
    for name in expect_headers:
        check(name.lower() in headers, f"{label}: header {name} is missing")
        check(name in response.get("headers", {}), f"{label}: header {name} is not documented "
                                                   f"for {path} {status}")


# ------------------------------------------------------------------------------ processes

processes = []


class server:
    """A child process whose stdout lines are collected by a thread (so it never blocks)."""

    def __init__(self, args, listening_message):
        self.lines = queue.Queue()
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)
        processes.append(self.process)
        threading.Thread(target=self._read, daemon=True).start()
        self.address = None
        seen = []
        while self.address is None:
            if time.monotonic() > DEADLINE or (self.process.poll() is not None and
                                               self.lines.empty()):
                raise RuntimeError(f"{args[0]} did not start listening: {''.join(seen)[-2000:]}")
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            seen.append(line)
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("msg") == listening_message:
                self.address = record["address"]
        self.host, port = self.address.rsplit(":", 1)
        self.port = int(port)

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line.decode(errors="replace"))

    def url(self, path):
        return f"http://{self.address}{path}"


def stop_all():
    for process in processes:
        if process.poll() is None:
            process.kill()
    for process in processes:
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def free_closed_port():
    """A loopback port nothing listens on (bound without listen, so connecting is refused)."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    return holder, holder.getsockname()[1]


def basic(key, secret):
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


def request(gateway, method, path, body=None, headers=None, timeout=15):
    connection = http.client.HTTPConnection(gateway.host, gateway.port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        return (response.status, {k.lower(): v for k, v in response.getheaders()}, data)
    finally:
        connection.close()


def raw_exchange(gateway, data):
    """Sends raw bytes; returns ((status, headers, body), closed): closed when the server ended
    the connection after its answer (within 5 s)."""
    closed = True
    with socket.create_connection((gateway.host, gateway.port), timeout=5) as connection:
        connection.sendall(data)
        received = b""
        try:
            while True:
                chunk = connection.recv(65536)
                if not chunk:
                    break
                received += chunk
        except socket.timeout:
            closed = False
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", len(body)))
    return (status, headers, body[:length]), closed


# ------------------------------------------------------------------------------ the checks


def write_config(directory, name, settings):
    path = os.path.join(directory, name)
    with open(path, "w") as out:
        json.dump(settings, out)
    return path


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    spec_path, gateway_binary, sandbox_binary = sys.argv[1:]
    with open(spec_path) as spec:
        document = yaml.safe_load(spec)
    check_document(document)
    with open(os.path.join(os.path.dirname(spec_path), "api.md")) as reference:
        check_reference_agrees(document, reference.read())

    work = tempfile.mkdtemp(prefix="igw-openapi-")
    try:
        return check_gateway(document, work, gateway_binary, sandbox_binary)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check_gateway(document, work, gateway_binary, sandbox_binary):
    sandbox = server([sandbox_binary, "--listen", "127.0.0.1:0"], "oppo-sandbox listening")
    oppo_url = f"http://{sandbox.address}"
    image = lambda name: f"{oppo_url}/images/{name}"  # noqa: E731

    good = ("openapi-app", "openapi-secret")
    limited = ("limited-app", "limited-secret")
    wrong_oppo = ("wrong-oppo-app", "wrong-oppo-secret")
    oppo = {"app_key": "sandbox-oppo-app", "master_secret": "sandbox-oppo-secret"}
    main_config = write_config(work, "gateway.json", {
        "server": {"listen": "127.0.0.1:0", "threads": 1, "drain_ms": 0},
        "apps": [
            {"app_key": good[0], "master_secret": good[1], "oppo": oppo},
            {"app_key": limited[0], "master_secret": limited[1], "oppo": oppo,
             "rate_limit_per_s": 0.01},
            {"app_key": wrong_oppo[0], "master_secret": wrong_oppo[1],
             "oppo": {"app_key": "no-such-oppo-app", "master_secret": "whatever"}},
        ],
        "oppo": {"auth_base_url": oppo_url, "media_base_url": oppo_url, "retries": 0},
        "fetch": {"allow_networks": ["127.0.0.0/8"]},
    })
    gateway = server([gateway_binary, "--config", main_config], "listening")

    def post(credentials, body, path="/v4/image/oppo"):
        return request(gateway, "POST", path, body=json.dumps(body).encode(),
                       headers={"Authorization": basic(*credentials)})

    both = {"big_picture_url": image("big.png"), "small_picture_url": image("small.png")}
    image_path = "/v4/image/oppo"

    # Success, then the same pictures from the cache.
    answer = post(good, both)
    check(answer[0] == 200, f"success: status {answer[0]} {answer[2][:300]!r}")
    check_answer(document, "success", image_path, "post", answer, ["X-Cache", "X-Request-Id"])
    check(answer[1].get("x-cache") == "miss", "success: X-Cache miss the first time")
    check(set(json.loads(answer[2])) == {"big_picture_id", "small_picture_id"},
          "success: both ids")
    answer = post(good, both)
    check_answer(document, "cache hit", image_path, "post", answer, ["X-Cache"])
    check(answer[1].get("x-cache") == "hit", "cache hit: X-Cache hit")

    # The caller's request id comes back.
    answer = request(gateway, "GET", "/healthz", headers={"X-Request-Id": "openapi-check.1"})
    check_answer(document, "healthz", "/healthz", "get", answer)
    check(answer[0] == 200 and answer[1].get("x-request-id") == "openapi-check.1",
          "healthz: 200 with the caller's X-Request-Id")
    answer = request(gateway, "GET", "/readyz")
    check(answer[0] == 200, "readyz: 200")
    check_answer(document, "readyz", "/readyz", "get", answer)
    answer = request(gateway, "GET", "/metrics")
    check(answer[0] == 200 and b"image_gateway_requests_total" in answer[2], "metrics: 200")
    check_answer(document, "metrics", "/metrics", "get", answer)

    def expect_error(label, answer, status, code, path=image_path, method="post", headers=()):
        check(answer[0] == status, f"{label}: status {answer[0]}, expected {status}: "
                                   f"{answer[2][:300]!r}")
        try:
            check(json.loads(answer[2])["error"]["code"] == code, f"{label}: code {code}")
        except (ValueError, KeyError, TypeError):
            check(False, f"{label}: not an error body: {answer[2][:300]!r}")
        check_answer(document, label, path, method, answer, headers)

    # An unknown path has no entry of its own: its 404 is the NotFound response every path has.
    expect_error("21001 unknown path", request(gateway, "GET", "/v4/image/nope"), 404, 21001,
                 path="/healthz", method="get")
    expect_error("21001 GET on the endpoint", request(gateway, "GET", image_path), 404, 21001,
                 method="post")
    expect_error("23001", post(("openapi-app", "wrong"), both), 401, 23001,
                 headers=["WWW-Authenticate"])
    expect_error("21003 bad JSON", request(gateway, "POST", image_path, body=b"[1,2",
                                           headers={"Authorization": basic(*good)}), 400, 21003)
    expect_error("21003 bad URL", post(good, {"big_picture_url": "ftp://example.com/b.png"}),
                 400, 21003)
    expect_error("21003 blocked address",
                 post(good, {"small_picture_url": "http://169.254.169.254/latest"}), 400, 21003)
    expect_error("21003 413", post(good, {"big_picture_url": image("big.png"),
                                          "padding": "x" * 20000}), 413, 21003)
    expect_error("23002", post(good, {"big_picture_url": None, "small_picture_url": ""}),
                 400, 23002)
    expect_error("51", post(good, {"big_picture_url": image("wrong-size.png")}), 200, 51)
    answer = post(wrong_oppo, {"small_picture_url": image("small.png")})
    expect_error("23100 wrong OPPO credentials", answer, 500, 23100)
    check("upstream" in json.loads(answer[2]).get("error", {}),
          "23100 wrong OPPO credentials: OPPO's refusal comes with upstream")

    # A dry run: the facts of each picture, the cached ones (uploaded above) said so.
    answer = post(good, both, path=image_path + "?dry_run=true")
    check(answer[0] == 200, f"dry run: status {answer[0]} {answer[2][:300]!r}")
    check_answer(document, "dry run", image_path, "post", answer, ["X-Request-Id"])
    facts = json.loads(answer[2])
    check(set(facts) == {"big_picture", "small_picture"}, "dry run: an object per picture")
    check(facts.get("big_picture", {}).get("cached") is True, "dry run: the big picture is cached")
    answer = post(good, dict(both, fit="contain"), path=image_path + "?dry_run=1")
    check_answer(document, "dry run with a fit", image_path, "post", answer)
    check(json.loads(answer[2]).get("small_picture", {}).get("fitted") is False,
          "dry run with a fit: an exact-size source goes as it came (fitted false)")

    # Image bytes in a multipart body, as curl -F sends them.
    boundary = "openapi-check-boundary"
    no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with no_proxy.open(image("small.png"), timeout=10) as source:
        small_bytes = source.read()
    multipart = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"small_picture\"; "
                 f"filename=\"s.png\"\r\nContent-Type: image/png\r\n\r\n").encode() + \
        small_bytes + f"\r\n--{boundary}--\r\n".encode()
    answer = request(gateway, "POST", image_path, body=multipart,
                     headers={"Authorization": basic(*good),
                              "Content-Type": f"multipart/form-data; boundary={boundary}"})
    check(answer[0] == 200, f"multipart: status {answer[0]} {answer[2][:300]!r}")
    check_answer(document, "multipart", image_path, "post", answer, ["X-Cache"])
    check(set(json.loads(answer[2])) == {"small_picture_id"}, "multipart: the id asked for")

    answer = post(limited, {"small_picture_url": image("small.png")})
    check(answer[0] == 200, f"rate limited app: first call 200, got {answer[0]}")
    check_answer(document, "rate limited app, allowed", image_path, "post", answer,
                 ["X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset"])
    expect_error("2002", post(limited, {"small_picture_url": image("small.png")}), 429, 2002,
                 headers=["Retry-After", "X-Rate-Limit-Limit", "X-Rate-Limit-Remaining",
                          "X-Rate-Limit-Reset"])

    # Framing errors: 400 / 21003 and the connection closed; a header block over 8 KiB is 431.
    answer, closed = raw_exchange(
        gateway, b"POST /v4/image/oppo HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n")
    expect_error("21003 malformed Content-Length", answer, 400, 21003)
    check(closed, "malformed HTTP: the connection is closed")
    answer, closed = raw_exchange(
        gateway, b"POST /v4/image/oppo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    expect_error("21003 Content-Length with Transfer-Encoding", answer, 400, 21003)
    check(closed, "Content-Length with Transfer-Encoding: the connection is closed")
    answer, closed = raw_exchange(
        gateway, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
    expect_error("21003 431", answer, 431, 21003, path="/v4/image/oppo")
    check(closed, "431: the connection is closed")

    # 27000: OPPO unreachable (500); the in-flight limit (503); and /readyz while draining.
    holder, closed_port = free_closed_port()
    stalled = socket.socket()
    stalled.bind(("127.0.0.1", 0))
    stalled.listen(8)  # accepts, never answers: a fetch that holds its request in flight
    stalled_url = f"http://127.0.0.1:{stalled.getsockname()[1]}/slow.png"
    unreachable = f"http://127.0.0.1:{closed_port}"
    second_config = write_config(work, "unreachable.json", {
        "server": {"listen": "127.0.0.1:0", "threads": 1, "max_inflight": 1, "drain_ms": 3000},
        "apps": [{"app_key": good[0], "master_secret": good[1], "oppo": oppo}],
        "oppo": {"auth_base_url": unreachable, "media_base_url": unreachable, "retries": 0,
                 "connect_timeout_ms": 1000, "timeout_ms": 2000},
        "fetch": {"allow_networks": ["127.0.0.0/8"], "timeout_ms": 8000},
    })
    second = server([gateway_binary, "--config", second_config], "listening")
    answer = request(second, "POST", image_path,
                     body=json.dumps({"small_picture_url": image("small.png")}).encode(),
                     headers={"Authorization": basic(*good)})
    expect_error("27000 OPPO unreachable", answer, 500, 27000)

    holding = {}
    holder_thread = threading.Thread(target=lambda: holding.update(answer=request(
        second, "POST", image_path, body=json.dumps({"big_picture_url": stalled_url}).encode(),
        headers={"Authorization": basic(*good)})))
    holder_thread.start()
    shed = None
    # Once the stalled fetch has connected, the one in-flight slot is taken.
    while shed is None and time.monotonic() < DEADLINE - 20:
        if select_ready(stalled):
            holding["connection"], _ = stalled.accept()
            shed = request(second, "POST", image_path, body=b"{}",
                           headers={"Authorization": basic(*good)})
    if check(shed is not None, "27000 503: the stalled fetch reached the origin"):
        expect_error("27000 in-flight limit", shed, 503, 27000, headers=["Retry-After"])
    if "connection" in holding:
        holding["connection"].close()  # the held request ends (its fetch fails)
    holder_thread.join(timeout=max(1, DEADLINE - time.monotonic()))
    if check("answer" in holding, "the held request was answered"):
        expect_error("21003 fetch failed", holding["answer"], 400, 21003)

    # The signal is handled asynchronously: ask until the answer turns (drain_ms is 3 s).
    second.process.send_signal(signal.SIGTERM)
    answer = request(second, "GET", "/readyz")
    turned_by = time.monotonic() + 2
    while answer[0] == 200 and time.monotonic() < turned_by:
        time.sleep(0.02)
        answer = request(second, "GET", "/readyz")
    check(answer[0] == 503, f"readyz while draining: 503, got {answer[0]}")
    check_answer(document, "readyz draining", "/readyz", "get", answer)
    holder.close()
    stalled.close()
    return 1 if failures else 0


def select_ready(listener, timeout=0.2):
    readable, _, _ = select.select([listener], [], [], timeout)
    return bool(readable)


if __name__ == "__main__":
    try:
        status = main()
    except Exception as error:  # any surprise is a failure, reported, with processes stopped
        import traceback
        traceback.print_exc()
        status = 1
        failures.append(repr(error))
    finally:
        stop_all()
    print(f"openapi check: {'FAILED, ' + str(len(failures)) + ' problem(s)' if failures else 'ok'}",
          flush=True)
    sys.exit(status)
