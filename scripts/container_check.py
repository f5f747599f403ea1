"""Build both images and serve each from a read-only home, as the image's own user: `make container`.

The GPU image (bentofile.yaml: CUDA torch) and the CPU image (bentofile.cpu.yaml: ONNX Runtime, no
torch) are built with `bentoml containerize`, run with a home mounted read-only at /data/anisim,
and must answer four checks: /v1/health, a legacy search, a v1 search and the search page. The CPU
image then runs the split a Kubernetes deployment runs: one Encoder container and two API
containers pointed at it by URL, loaded through both, the Encoder killed and started again. A
table and a JSON report (`--json`) give each image's size, build time, time to healthy and memory,
and the split's q/s with one API and with two.

It leaves alone any Docker engine the host runs: it installs Debian's docker.io where missing (as
root) and starts a private dockerd, with its own data root, exec root and socket in a temporary
folder, no iptables rules, no bridge, and host networking for the builds and the runs. Where no
registry is reachable, the base image the generated Dockerfile names (python:3.11-slim) is made
with debootstrap, trusting the CA bundle that pip here trusts. At the end it stops what it
started and removes what it wrote, and checks that the host has no dockerd, no docker0 and no new
iptables rules.

Exit status: 0 all checks pass; 1 a check failed; 3 no Docker engine can start here (the message
names the command that was refused).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

from anisim.api.server import free_port, wait_ready

ROOT = Path(__file__).resolve().parents[1]
BENTOS = {"gpu": "bentofile.yaml", "cpu": "bentofile.cpu.yaml"}
HOME_IN_IMAGE = "/data/anisim"
DEBIAN = ("bookworm", "http://deb.debian.org/debian")
REFUSED = 3
# dockerd 20.10, its containerd and runc write these outside the daemon's data and exec roots
# whatever its flags say; each is removed at the end unless it was there before. (util-linux's
# /run/mount, lock files that any `mount` makes, debootstrap's included, is the system's and stays.)
DAEMON_LEFTOVERS = (Path("/etc/docker/key.json"), Path("/run/docker"), Path("/run/containerd"), Path("/run/runc"))
LEGACY_BODY = {"model": "sentence-transformers/all-MiniLM-L6-v2", "description": "an elf mage outlives her hero party"}


class Refused(Exception):
    """No Docker engine can start here; the message names the command that was refused."""


@dataclass
class ImageReport:
    """What one image measured: sizes in MB, times in seconds."""

    image: str
    bentofile: str
    build_s: float = 0.0
    size_mb: float = 0.0
    healthy_s: float = 0.0
    memory_mb: float = 0.0
    user: str = ""
    checks: dict[str, str] = field(default_factory=dict)
    split: dict[str, object] = field(default_factory=dict)  # the CPU image's split topology (`split_check`)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(result == "ok" for result in self.checks.values())


def run(command: list[str], what: str, **kwargs) -> subprocess.CompletedProcess:
    """Run a command; a failure raises RuntimeError with `what` and the end of its output."""
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({' '.join(command[:3])} ...): {(done.stderr or done.stdout)[-1500:]}")
    return done


# ---------------------------------------------------------------- the engine


def ensure_packages() -> None:
    """Debian's docker.io (dockerd and a client with BuildKit) and debootstrap, installed once."""
    if shutil.which("dockerd") and shutil.which("debootstrap"):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise Refused("`apt-get install docker.io debootstrap`: not root, or no apt-get on this machine")
    install = ["apt-get", "install", "-y", "-q", "docker.io", "debootstrap"]
    if subprocess.run(install, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True)
        if subprocess.run(install, capture_output=True).returncode != 0:
            raise Refused("`apt-get install docker.io debootstrap` was refused")


def debian_client() -> str:
    """The docker client of Debian's docker.io: it has BuildKit built in, which `bentoml
    containerize` needs (a newer client on PATH may lack the buildx plugin)."""
    listed = subprocess.run(["dpkg", "-L", "docker.io"], capture_output=True, text=True).stdout.split()
    return next((path for path in listed if path.endswith("/bin/docker")), shutil.which("docker") or "docker")


def host_state() -> dict[str, object]:
    """What a daemon could leave behind on the host: a dockerd, a docker0 link, iptables rules, files."""
    rules = subprocess.run(["iptables", "-S"], capture_output=True, text=True).stdout if shutil.which("iptables") else ""
    return {"dockerd": subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True).returncode == 0,
            "docker0": Path("/sys/class/net/docker0").exists(), "iptables rules": rules,
            "files outside the workdir": [str(path) for path in DAEMON_LEFTOVERS if path.exists()]}


@contextmanager
def private_dockerd(folder: Path):
    """A dockerd of our own under `folder`, stopped and removed on exit: yields its socket's URL."""
    if os.geteuid() != 0:
        raise Refused(f"`dockerd` needs root, and this check runs as uid {os.geteuid()}")
    existed = {path: path.exists() for path in DAEMON_LEFTOVERS}
    (folder / "daemon.json").write_text("{}")  # not the host's /etc/docker/daemon.json
    sock = folder / "docker.sock"
    command = ["dockerd", "--config-file", str(folder / "daemon.json"), "--data-root", str(folder / "data"),
               "--exec-root", str(folder / "exec"), "--pidfile", str(folder / "dockerd.pid"), "-H", f"unix://{sock}",
               "--iptables=false", "--ip6tables=false", "--bridge=none", "--ip-masq=false"]
    with open(folder / "dockerd.log", "w") as log:
        daemon = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"unix://{sock}"
        deadline = time.monotonic() + 60
        while subprocess.run([debian_client(), "-H", url, "info"], capture_output=True).returncode != 0:
            if daemon.poll() is not None or time.monotonic() > deadline:
                tail = (folder / "dockerd.log").read_text()[-600:]
                raise Refused(f"`dockerd --data-root {folder / 'data'} --bridge=none --iptables=false` did not start: {tail}")
            time.sleep(0.5)
        yield url
    finally:
        daemon.terminate()
        try:
            daemon.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()
        unmount_under(folder)
        for path, was_there in existed.items():
            if not was_there:
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


def unmount_under(folder: Path) -> None:
    """Unmount whatever the daemon left mounted under `folder` (a network namespace, overlays)."""
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for point in sorted((m for m in mounts if m.startswith(str(folder))), reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


# ---------------------------------------------------------------- the base image


def pip_ca_bundle() -> Path:
    """The CA bundle pip on this host trusts, found as pip finds it: its `cert` setting (PIP_CERT,
    then its config files), then REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, SSL_CERT_FILE, and the
    system's default bundle."""
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
    configured = [value.strip("'\"") for key, _, value in (line.partition("=") for line in listed.splitlines())
                  if key.endswith(".cert")]
    import ssl
    candidates = [os.environ.get("PIP_CERT"), *configured, os.environ.get("REQUESTS_CA_BUNDLE"),
                  os.environ.get("CURL_CA_BUNDLE"), os.environ.get("SSL_CERT_FILE"), ssl.get_default_verify_paths().cafile]
    found = next((Path(c) for c in candidates if c and Path(c).is_file()), None)
    if found is None:
        raise RuntimeError("no CA bundle found (pip's cert setting, REQUESTS_CA_BUNDLE, SSL_CERT_FILE, the system's)")
    return found


def base_image_name(bento: Path) -> str:
    """The image the Bento's generated Dockerfile starts FROM."""
    return re.search(r"^FROM (\S+)", (bento / "env/docker/Dockerfile").read_text(), re.M).group(1)


def ensure_base_image(docker: list[str], name: str, folder: Path) -> str:
    """`name` in the (new, empty) engine: pulled where a registry answers, else made with
    debootstrap. Says which."""
    if subprocess.run([*docker, "pull", name], capture_output=True, timeout=300).returncode == 0:
        return "pulled"
    root = folder / "rootfs"
    suite, mirror = DEBIAN
    run(["debootstrap", "--variant=minbase", "--include=python3,python3-pip,ca-certificates", suite, str(root), mirror],
        "debootstrap", timeout=900)
    bundle = pip_ca_bundle()
    shutil.copyfile(bundle, root / "etc/ssl/certs/ca-certificates.crt")
    # kept if the image's own `update-ca-certificates` rebuilds the bundle
    shutil.copyfile(bundle, root / "usr/local/share/ca-certificates/host-trust.crt")
    (root / "usr/lib/python3.11/EXTERNALLY-MANAGED").unlink(missing_ok=True)  # pip installs, as in python:*-slim
    (root / "usr/local/bin/python").symlink_to("/usr/bin/python3")
    shutil.rmtree(root / "var/lib/apt/lists", ignore_errors=True)
    for deb in (root / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()
    tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
    # uv, which the Dockerfile installs packages with, trusts SSL_CERT_FILE rather than the system store
    run([*docker, "import", "--change", "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
         "--change", 'CMD ["python3"]', "-", name], "docker import", stdin=tar.stdout)
    tar.wait()
    shutil.rmtree(root)
    return f"made with debootstrap ({suite}), trusting {bundle}"


# ---------------------------------------------------------------- build, run, check


def build_bento(bentofile: str, env: dict[str, str]) -> tuple[str, Path]:
    """`bentoml build -f bentofile`: the tag and the Bento's folder."""
    bentoml = str(Path(sys.executable).with_name("bentoml"))
    done = run([bentoml, "build", "-f", bentofile, "--output", "tag"], f"bentoml build -f {bentofile}", cwd=ROOT, env=env)
    tag = done.stdout.strip().splitlines()[-1].removeprefix("__tag__:")
    return tag, Path(env["BENTOML_HOME"]) / "bentos" / tag.replace(":", "/")


def containerize(docker: list[str], tag: str, report: ImageReport, env: dict[str, str]) -> None:
    """`bentoml containerize` the Bento into the report's image (host networking for its RUN
    steps); the report gets the build's seconds and the image's size."""
    bentoml = str(Path(sys.executable).with_name("bentoml"))
    started = time.monotonic()
    run([bentoml, "containerize", tag, "-t", report.image, "--opt", "network=host"], f"bentoml containerize {tag}",
        env=env, timeout=1500)
    report.build_s = time.monotonic() - started
    size = run([*docker, "image", "inspect", "-f", "{{.Size}}", report.image], "docker image inspect").stdout
    report.size_mb = int(size) / 1e6


def four_checks(url: str) -> dict[str, str]:
    """/v1/health, a legacy search, a v1 search, the page: "ok", or what was wrong."""
    def check(response: httpx.Response, good) -> str:
        return "ok" if response.status_code == 200 and good(response) else f"HTTP {response.status_code}"
    return {
        "health": check(httpx.get(f"{url}/v1/health", timeout=10), lambda r: r.json()["status"] == "ok"),
        "legacy search": check(httpx.post(f"{url}/anisearchmodel/anime", json=LEGACY_BODY, timeout=30),
                               lambda r: len(r.json()) > 0),
        "v1 search": check(httpx.post(f"{url}/v1/search", json={"kind": "manga", "query": "a hunter", "page_size": 3},
                                      timeout=30), lambda r: len(r.json()["results"]) == 3),
        "page": check(httpx.get(f"{url}/", timeout=10), lambda r: "<html" in r.text.lower()),
    }


def memory_mb(docker: list[str], name: str) -> float:
    usage = run([*docker, "stats", "--no-stream", "--format", "{{.MemUsage}}", name], "docker stats").stdout
    number, unit = re.match(r"([\d.]+)\s*([KMG]i?B)", usage).groups()
    return float(number) * {"K": 1 / 1024, "M": 1, "G": 1024}[unit[0]]


def serve_and_check(docker: list[str], home: Path, report: ImageReport) -> None:
    """Run the report's image as its own user with `home` mounted read-only; fill in the report."""
    image = report.image
    name, port = f"{image.replace(':', '-')}-{os.getpid()}", free_port()
    started = time.monotonic()
    run([*docker, "run", "-d", "--name", name, "--network", "host", "-e", f"PORT={port}",
         "-v", f"{home}:{HOME_IN_IMAGE}:ro", image], f"docker run {image}")
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, timeout=240)
        report.healthy_s = time.monotonic() - started
        report.checks = four_checks(url)
        report.memory_mb = memory_mb(docker, name)
        report.user = run([*docker, "exec", name, "id", "-un"], "docker exec id").stdout.strip()
        if report.user == "root":
            report.checks["non-root"] = "runs as root"
        if subprocess.run([*docker, "exec", name, "touch", f"{HOME_IN_IMAGE}/written"], capture_output=True).returncode == 0:
            report.checks["read-only home"] = "the home was writable"
    except (RuntimeError, TimeoutError, httpx.HTTPError, ValueError, KeyError) as problem:
        logs = subprocess.run([*docker, "logs", "--tail", "30", name], capture_output=True, text=True)
        report.checks["serving"] = f"{type(problem).__name__}: {problem}; last log lines: {(logs.stdout + logs.stderr)[-1500:]}"
    finally:
        subprocess.run([*docker, "rm", "-f", name], capture_output=True)


def sample_home(folder: Path) -> Path:
    """The suite's small catalogs, both served models' indexes and ONNX exports (~1-3 min)."""
    from anisim.encoder import Embedder
    from anisim.models import MINILM, TUNED, resolve
    from anisim.samples import build_home, sample_catalogs
    from anisim.settings import Settings
    settings = Settings.from_env()
    embedders = {name: Embedder(resolve(name), "torch", device="cpu") for name in (TUNED, MINILM)}
    return build_home(folder, sample_catalogs(settings), embedders, settings)


def check_readable(home: Path) -> None:
    """The image's user is not the one who built the home: every folder and file must be readable by
    all. A temporary that its writer renames away during the walk (a server in another test writes
    its BM25 cache into the same home) is not part of the home: a path that vanishes is skipped."""
    for folder, _, files in os.walk(home):  # os.walk passes over a folder that vanishes before it is listed
        for path in [Path(folder), *(Path(folder) / name for name in files)]:
            try:
                mode = path.stat().st_mode
            except FileNotFoundError:
                continue
            need = 0o005 if stat.S_ISDIR(mode) else 0o004
            if mode & need != need:
                raise RuntimeError(f"{path} is not readable by other users (the image's user): `chmod -R a+rX {home}`")


# ---------------------------------------------------------------- the split topology

SPLIT_QUERIES = ("an elf mage outlives her hero party", "a boy reborn as a slime in another world",
                 "a girl at a high school falls in love", "a hunter who wants to find his father")
SPLIT_CLIENTS = 8


def _container(docker: list[str], name: str, image: str, home: Path, port: int, env: dict[str, str],
               command: list[str]) -> None:
    """As deploy/kubernetes runs it: a read-only root filesystem with a writable /tmp, BentoML's home in it."""
    env = {"PORT": str(port), "BENTOML_HOME": "/tmp/bentoml", **env}
    flags = [flag for key, value in env.items() for flag in ("-e", f"{key}={value}")]
    run([*docker, "run", "-d", "--name", name, "--network", "host", "--read-only", "--tmpfs", "/tmp", *flags,
         "-v", f"{home}:{HOME_IN_IMAGE}:ro", image, *command], f"docker run {name}")


def _load(urls: list[str], seconds: float) -> dict[str, object]:
    """SPLIT_CLIENTS threads searching for `seconds`, client n on urls[n % len(urls)]: q/s and statuses."""
    import threading
    statuses: list[int] = []
    stop = time.monotonic() + seconds

    def client(n: int) -> None:
        with httpx.Client(base_url=urls[n % len(urls)], timeout=30) as http:
            i = n
            while time.monotonic() < stop:
                body = {"kind": "anime", "query": f"{SPLIT_QUERIES[i % len(SPLIT_QUERIES)]} {i}", "page_size": 5}
                try:
                    statuses.append(http.post("/v1/search", json=body).status_code)
                except httpx.HTTPError:
                    statuses.append(0)
                i += SPLIT_CLIENTS
    threads = [threading.Thread(target=client, args=(n,)) for n in range(SPLIT_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts = {str(status): statuses.count(status) for status in sorted(set(statuses))}
    return {"qps": round(len(statuses) / seconds, 1), "requests": len(statuses),
            "errors": sum(status != 200 for status in statuses), "statuses": counts}


def _health_within(urls: list[str], status: int, seconds: float) -> float | None:
    """Seconds until every URL's /v1/health answers `status`, or None."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        try:
            if all(httpx.get(f"{url}/v1/health", timeout=4).status_code == status for url in urls):
                return round(time.monotonic() - started, 1)
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    return None


def split_check(docker: list[str], home: Path, report: ImageReport, seconds: float) -> None:
    """One Encoder container and two API containers pointed at it by URL, all from the image, as its
    user, the home read-only: load through both APIs, the Encoder killed (both healths 503 within 5
    s, no other 5xx) and started again (200), and q/s with one API and with two (`seconds` each)."""
    image, tag = report.image, f"{os.getpid()}"
    encoder_port, api_ports = free_port(), [free_port(), free_port()]
    encoder_url, urls = f"http://127.0.0.1:{encoder_port}", [f"http://127.0.0.1:{p}" for p in api_ports]
    names = [f"anisim-encoder-{tag}", *(f"anisim-api{n}-{tag}" for n in (1, 2))]
    split: dict[str, object] = {}
    try:
        _container(docker, names[0], image, home, encoder_port, {},
                   ["bentoml", "serve", "service:Encoder", "--working-dir", "/home/bentoml/bento/src",
                    "--port", str(encoder_port)])
        wait_ready(encoder_url, timeout=240, path="/readyz")
        for name, port in zip(names[1:], api_ports):
            _container(docker, name, image, home, port, {"ANISIM_ENCODER_URL": encoder_url}, [])
        for url in urls:
            wait_ready(url, timeout=240)
        split["encoder_named"] = all(httpx.get(f"{url}/v1/health", timeout=10).json()["encoder"]["url"] == encoder_url
                                     for url in urls)
        _load(urls, 2)  # warm-up
        split["one_api"] = _load(urls[:1], seconds)
        split["two_apis"] = _load(urls, seconds)
        run([*docker, "kill", names[0]], "docker kill the Encoder")
        split["down_503_s"] = _health_within(urls, 503, 5)
        split["while_down"] = _load(urls, 2)
        run([*docker, "start", names[0]], "docker start the Encoder")
        split["back_200_s"] = _health_within(urls, 200, 120)
        split["after"] = _load(urls, 2)
    except (RuntimeError, TimeoutError, httpx.HTTPError, KeyError) as problem:
        split["problem"] = f"{type(problem).__name__}: {problem}"
    finally:
        for name in names:
            subprocess.run([*docker, "rm", "-f", name], capture_output=True)
    report.split = split
    report.checks["split topology"] = split_verdict(split)


def split_verdict(split: dict) -> str:
    """"ok", or what the split topology got wrong."""
    if "problem" in split:
        return str(split["problem"])
    wrong = [what for what, bad in (
        ("an API does not name its Encoder", not split["encoder_named"]),
        ("errors under load", split["one_api"]["errors"] or split["two_apis"]["errors"] or split["after"]["errors"]),
        ("health not 503 within 5 s of the Encoder's kill", split["down_503_s"] is None),
        ("a search while it was down got other than 200 or 503", set(split["while_down"]["statuses"]) - {"200", "503"}),
        ("health not back to 200", split["back_200_s"] is None)) if bad]
    return "ok" if not wrong else "; ".join(wrong)


def check_images(home: Path | None, flavors: list[str], work: Path,
                 split_seconds: float) -> tuple[list[ImageReport], str]:
    """The whole check inside `work` (the caller has installed the packages): the engine, the base
    image, each image built, served, checked."""
    if home is None:
        print("building a small home (the suite's sample catalogs) ...", flush=True)
        home = sample_home(work / "home")
    check_readable(home)
    with private_dockerd(work) as docker_host:
        client = debian_client()
        docker = [client, "-H", docker_host]
        env = {**os.environ, "BENTOML_HOME": str(work / "bentoml"), "DOCKER_HOST": docker_host, "DOCKER_BUILDKIT": "1",
               "PATH": f"{Path(client).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        reports, base = [], ""
        for flavor in flavors:
            report = ImageReport(f"anisim-{flavor}:check", BENTOS[flavor])
            tag, bento = build_bento(report.bentofile, env)
            if not base:
                print(f"base image {base_image_name(bento)} ...", flush=True)
                base = ensure_base_image(docker, base_image_name(bento), work)
            print(f"building {report.image} from {report.bentofile} ...", flush=True)
            containerize(docker, tag, report, env)
            print(f"serving {report.image} ...", flush=True)
            serve_and_check(docker, home, report)
            if flavor == "cpu":
                print("the split topology: one Encoder, two APIs ...", flush=True)
                split_check(docker, home, report, split_seconds)
            reports.append(report)
    return reports, base


def print_table(reports: list[ImageReport], base: str, host_clean: dict[str, bool]) -> None:
    print(f"\nbase image: {base}")
    print(f"{'image (bentofile)':<22}{'size MB':>9}{'build s':>9}{'healthy s':>11}{'memory MB':>11}  user     checks")
    for r in reports:
        failed = {k: v for k, v in r.checks.items() if v != "ok"}
        print(f"{r.bentofile:<22}{r.size_mb:>9.0f}{r.build_s:>9.0f}{r.healthy_s:>11.1f}{r.memory_mb:>11.0f}  {r.user:<8} "
              + ("all ok" if not failed else "; ".join(f"{k}: {v}" for k, v in failed.items())))
    if len(reports) == 2 and reports[0].size_mb:
        gpu, cpu = reports
        print(f"cpu / gpu: size {cpu.size_mb / gpu.size_mb:.2f}, time to healthy {cpu.healthy_s / gpu.healthy_s:.2f}, "
              f"memory {cpu.memory_mb / gpu.memory_mb:.2f}")
    for r in reports:
        if r.split and "one_api" in r.split:
            one, two = r.split["one_api"], r.split["two_apis"]
            print(f"split ({r.bentofile}): one API {one['qps']} q/s, two APIs {two['qps']} q/s "
                  f"({two['qps'] / max(one['qps'], 0.1):.2f}x), {SPLIT_CLIENTS} clients; Encoder killed: 503 in "
                  f"{r.split['down_503_s']} s, statuses while down {r.split['while_down']['statuses']}; back to 200 in "
                  f"{r.split['back_200_s']} s")
    print("host left as found (" + ", ".join(host_clean) + "): " + ("yes" if all(host_clean.values()) else
          "NO: " + ", ".join(what for what, same in host_clean.items() if not same)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, help="the home to mount read-only (default: build the suite's small one)")
    parser.add_argument("--only", choices=sorted(BENTOS), help="build and serve one image only")
    parser.add_argument("--json", type=Path, help="write the report here")
    parser.add_argument("--split-seconds", type=float, default=10.0,
                        help="how long the split topology's load runs with one API, then with two")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()),
                        help="where the temporary folder (engine, images, base image: ~15 GB) goes")
    args = parser.parse_args()
    flavors = [args.only] if args.only else list(BENTOS)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # unwind: stop the daemon, remove its folder
    try:
        # before the snapshot: installing docker.io brings iptables, whose default policies are no leftover
        ensure_packages()
        before = host_state()
        work = Path(tempfile.mkdtemp(prefix="anisim-container-", dir=args.workdir))
        try:
            reports, base = check_images(args.home and args.home.resolve(), flavors, work, args.split_seconds)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    except Refused as refused:
        print(f"no Docker engine can start here: {refused}", file=sys.stderr)
        return REFUSED
    after = host_state()
    host_clean = {what: after[what] == was for what, was in before.items()} | {"workdir": not work.exists()}
    print_table(reports, base, host_clean)
    if args.json:
        from anisim.atomic import write_text_atomic
        write_text_atomic(args.json, json.dumps({"base_image": base, "host_left_as_found": host_clean,
                                                 "images": [asdict(r) | {"passed": r.passed} for r in reports]}, indent=2))
    return 0 if all(r.passed for r in reports) and all(host_clean.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
