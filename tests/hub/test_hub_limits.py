"""Limits per notebook server (proeftuin.hub.limits, proeftuin.hub.kernel).

Fast: parsing and the Dutch validation errors, what `up` says, detection on fake cgroup trees (v1, v2,
hybrid, container), the rlimit fallback, a kernel under the soft limit (numpy, pandas and torch still
work; MemoryError comes with the Dutch message) and, as root on a machine with cgroups, real processes in
real cgroups: the one over its limit is killed, its neighbour keeps running, and the cgroups go away.

Then a real hub with a small limit (1 GiB, half a CPU) and two users of different organisations: one
user's kernel asks far more than the limit (Dutch message, kernel lives on), then gets past the kernel's
soft limit (the cgroup kills the kernel, not the server; the next kernel says why in Dutch), while the hub
answers and the other user's kernel keeps running code.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
import yaml
from hubkit import (
    IS_ROOT,
    WS_TIMEOUT,
    Browser,
    admin_and_members,
    execute_request,
    proc_field,
    running_platform,
    server_pid,
    start_server,
    stop_server,
    wait_until,
)

from proeftuin.errors import ConfigError
from proeftuin.hub import limits as hub_limits
from proeftuin.hub.limits import Cgroup, GiB, Machine, MiB, Plan
from proeftuin.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
PROC_CGROUP_V1 = """9:name=systemd:/
4:memory:/process_api/abc
1:cpu:/
0::/
"""
MOUNTINFO_HYBRID = """31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""


# --- values and settings ----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "size"), [("4G", 4 * GiB), ("512M", 512 * MiB), ("1,5GiB", 1536 * MiB),
                                            ("1.5g", 1536 * MiB), ("2048 MB", 2 * GiB), (4 * GiB, 4 * GiB),
                                            (0, 0), ("0", 0)])
def test_memory_sizes_are_binary_with_units(text, size):
    assert hub_limits.parse_memory(text) == size


def test_values_are_written_the_dutch_way():
    assert hub_limits.format_memory(4 * GiB) == "4 GiB"
    assert hub_limits.format_memory(1536 * MiB) == "1,5 GiB"
    assert hub_limits.format_memory(512 * MiB) == "512 MiB"
    assert [hub_limits.format_cpu(c) for c in (1, 0.5, 2, 1.5)] == ["1 CPU", "0,5 CPU", "2 CPU's", "1,5 CPU's"]
    assert hub_limits.server_cgroup_name("an-kortrijk") == "pt-an-kortrijk"
    assert hub_limits.server_cgroup_name("a/b c") == "pt-a%2fb%20c"  # never a path
    assert hub_limits.kernel_soft_limit(4 * GiB) == 3584 * MiB and hub_limits.kernel_soft_limit(GiB) == 768 * MiB


def _config(tmp_path: Path, limits: dict) -> Path:
    config = yaml.safe_load((ROOT / "proeftuin.yaml").read_text())
    config["hub"]["limits"] = limits
    path = tmp_path / "proeftuin.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_the_hub_config_sets_jupyterhubs_own_limits_and_the_kernel_extension():
    from traitlets.config import Config

    from proeftuin.hub.context import HubContext, update_limits

    settings = load_settings(ROOT / "proeftuin.yaml")
    hub = HubContext(settings, ROOT / "proeftuin.yaml", 8123, False)
    first, second = Config(), Config()
    update_limits(first, hub)
    update_limits(second, hub)
    update_limits(second, hub)
    assert first == second
    assert (first.Spawner.mem_limit, first.Spawner.cpu_limit) == (4 * GiB, 1.0)
    assert first.Spawner.environment == {"PROEFTUIN_CGROUP": "proeftuin-8123"}
    assert first.Spawner.args == ["--ServerApp.kernel_spec_manager_class="
                                  "proeftuin.hub.kernel.ProeftuinKernelSpecManager"]


def test_defaults_fit_a_two_core_24_gib_machine(tmp_path):
    limits = load_settings(ROOT / "proeftuin.yaml").hub.limits
    assert (limits.memory, limits.cpu) == (4 * GiB, 1.0)
    settings = load_settings(_config(tmp_path, {"memory": "1.5G", "cpu": "0,5"}))
    assert (settings.hub.limits.memory, settings.hub.limits.cpu) == (1536 * MiB, 0.5)


@pytest.mark.parametrize(("limits", "field", "words"), [
    ({"memory": "veel"}, "hub.limits.memory", "'veel' is geen geheugengrootte; schrijf bv. 4G"),
    ({"memory": "300M"}, "hub.limits.memory", "300 MiB is te weinig voor een notebookserver"),
    ({"memory": -5}, "hub.limits.memory", "een geheugengrootte kan niet negatief zijn"),
    ({"memory": None}, "hub.limits.memory", "geef een geheugengrootte op"),
    ({"cpu": "snel"}, "hub.limits.cpu", "'snel' is geen aantal CPU's; schrijf bv. 1"),
    ({"cpu": -1}, "hub.limits.cpu", "'-1' is geen geldig aantal CPU's"),
    ({"cpu": 0.01}, "hub.limits.cpu", "0,01 CPU is te weinig om een notebook te laten werken"),
    ({"cpu": 5000}, "hub.limits.cpu", "5000 CPU's is meer dan een machine heeft"),
])
def test_bad_limits_get_a_dutch_error_naming_the_field(tmp_path, limits, field, words):
    with pytest.raises(ConfigError) as caught:
        load_settings(_config(tmp_path, limits))
    message = str(caught.value)
    assert f"{field}: {words}" in message, message
    assert "Value error" not in message and "Input should" not in message


# --- detection and what `up` says -------------------------------------------------------------------

def test_this_kind_of_machine_is_parsed():
    machine = Machine.parse(PROC_CGROUP_V1, MOUNTINFO_HYBRID)
    assert machine == Machine(Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup/memory/process_api/abc"),
                              Path("/sys/fs/cgroup/cpu"))
    v2 = Machine.parse("0::/system.slice/proeftuin.service\n",
                       "30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n")
    assert v2 == Machine(v2=Path("/sys/fs/cgroup/system.slice/proeftuin.service"))
    # A container that sees only its own subtree of a v1 hierarchy, co-mounted cpu,cpuacct.
    container = Machine.parse("5:memory:/docker/f00\n3:cpu,cpuacct:/docker/f00\n",
                              "40 30 0:33 /docker/f00 /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n"
                              "41 30 0:34 /docker/f00 /sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup rw,cpu,cpuacct\n")
    assert container == Machine(None, Path("/sys/fs/cgroup/memory"), Path("/sys/fs/cgroup/cpu,cpuacct"))


def _fake_v2(tmp_path: Path, group: str, controllers: str = "cpu io memory pids") -> Path:
    """A delegated v2 cgroup as files (mkdir on a real cgroupfs makes the control files; here we do)."""
    base = tmp_path / "service"
    for folder, files in ((base, ("cgroup.procs", "cgroup.subtree_control")),
                          (base / group, ("cgroup.procs", "cgroup.subtree_control", "memory.max")),
                          (base / group / "pt-an", ("cgroup.procs", "memory.max", "memory.swap.max", "cpu.max"))):
        folder.mkdir(parents=True, exist_ok=True)
        for name in files:
            (folder / name).write_text("")
        (folder / "cgroup.controllers").write_text(controllers if folder == base else "cpu memory")
    return base


def test_a_delegated_cgroup_v2_subtree_comes_first(tmp_path, monkeypatch):
    group = "proeftuin-9999"
    base = _fake_v2(tmp_path, group)
    machine = Machine(v2=base, v1_memory=tmp_path / "no-v1")
    plan = hub_limits.prepare_platform(2 * GiB, 1.5, group, machine=machine, check=False)
    assert plan.mechanism == "cgroup2" and plan.group == Cgroup(2, (base / group,))
    assert (base / "cgroup.subtree_control").read_text() == "+memory +cpu"
    assert (base / group / "cgroup.subtree_control").read_text() == "+memory +cpu"
    assert int((base / group / "memory.max").read_text()) == plan.total >= 2 * GiB
    assert plan.describe().startswith("Limieten per notebookserver: 2 GiB geheugen, 1,5 CPU's (cgroup v2;")

    monkeypatch.setattr(Machine, "current", classmethod(lambda cls: machine))
    hub_limits.find_group.cache_clear()
    try:
        join = hub_limits.prepare_server("an", 2 * GiB, 1.5, group)
        server = base / group / "pt-an"
        assert (server / "memory.max").read_text() == str(2 * GiB)
        assert (server / "memory.swap.max").read_text() == "0"
        assert (server / "cpu.max").read_text() == "150000 100000"
        join()
        assert (server / "cgroup.procs").read_text() == str(os.getpid())
        assert hub_limits.server_cgroup("an", group).limits() == (2 * GiB, 1.5)
    finally:
        hub_limits.find_group.cache_clear()


def test_without_memory_and_cpu_controllers_v2_is_skipped(tmp_path):
    base = _fake_v2(tmp_path, "proeftuin-9998", controllers="hugetlb")  # like this machine's cgroup2 mount
    plan = hub_limits.prepare_platform(GiB, 1, "proeftuin-9998", machine=Machine(v2=base), check=False)
    assert plan.mechanism == "rlimit"
    assert plan.reason == f"cgroup v2 geeft {base} geen memory- en cpu-controller"


def test_without_cgroups_each_process_gets_rlimit_data():
    plan = hub_limits.prepare_platform(512 * MiB, 1, "proeftuin-9997", machine=Machine())
    assert plan.mechanism == "rlimit"
    line = plan.describe()
    assert line.startswith("Limieten per notebookserver: 512 MiB geheugen per proces (RLIMIT_DATA), CPU niet te "
                           "begrenzen, alleen lagere voorrang; geen cgroups: geen cgroup v1 of v2 gevonden."), line
    join = hub_limits.prepare_server("an", 512 * MiB, 1, "proeftuin-9997")  # no group prepared: rlimits
    code = textwrap.dedent("""
        import os, resource
        print(resource.getrlimit(resource.RLIMIT_DATA), os.nice(0))
        try:
            data = bytearray(1 << 30)
        except MemoryError:
            print("MemoryError")
    """)
    done = subprocess.run([sys.executable, "-c", code], preexec_fn=join, capture_output=True, text=True, check=True)
    assert done.stdout.split("\n")[:2] == [f"({512 * MiB}, {512 * MiB}) {os.nice(0) + 10}", "MemoryError"]


def test_up_says_when_there_are_no_limits():
    plan = hub_limits.prepare_platform(0, 0, "proeftuin-9996")
    assert plan == Plan("none", 0, 0.0)
    assert plan.describe() == "Limieten per notebookserver: geen (hub.limits.memory en hub.limits.cpu staan op 0)."
    assert hub_limits.prepare_server("an", 0, 0, "proeftuin-9996")() is None


# --- kernels ------------------------------------------------------------------------------------------

def test_a_kernel_under_the_soft_limit_runs_numpy_pandas_torch_and_says_memoryerror_in_dutch():
    from jupyter_client import KernelManager

    from proeftuin.hub.kernel import EXTENSION_ARG, ProeftuinKernelSpecManager

    manager = KernelManager(kernel_name="python3", kernel_spec_manager=ProeftuinKernelSpecManager())
    assert manager.kernel_spec.argv[-1] == EXTENSION_ARG
    manager.start_kernel(env={**os.environ, "MEM_LIMIT": str(GiB)})
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)

        def run(code: str) -> tuple[str, str]:
            output = []

            def hook(msg):
                if msg["header"]["msg_type"] == "stream":
                    output.append(msg["content"]["text"])
                elif msg["header"]["msg_type"] == "error":
                    output.append("\n".join(msg["content"]["traceback"]))

            reply = client.execute_interactive(code, output_hook=hook, timeout=120)
            return reply["content"]["status"], "".join(output)

        status, output = run("import resource, os\nprint(resource.getrlimit(resource.RLIMIT_DATA)[0], "
                             "os.environ['ARROW_DEFAULT_MEMORY_POOL'], open('/proc/self/oom_score_adj').read())")
        assert (status, output.split()) == ("ok", [str(768 * MiB), "system", "500"])
        status, output = run("import numpy, pandas, torch, sklearn.linear_model\n"
                             "frame = pandas.DataFrame({'a': numpy.arange(10**6), 's': ['x'] * 10**6})\n"
                             "print(frame.a.sum(), float(torch.ones(500, 500).matmul(torch.ones(500, 500)).sum()))")
        assert (status, output.split()) == ("ok", ["499999500000", "125000000.0"]), output
        status, output = run("chunks = []\nwhile True:\n    chunks.append(bytearray(50 * 2**20))")
        assert status == "error"
        assert "je notebook gebruikt meer geheugen dan de 1 GiB die een notebookserver mag gebruiken" in output
        assert "werk met een kleiner deel van de gegevens" in output and "herstart de kernel" in output
        assert "MemoryError" in output
        assert run("del chunks\nprint('nog', 6 * 7)") == ("ok", "nog 42\n")  # the kernel lives on
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


# --- real cgroups (root) ----------------------------------------------------------------------------

HOG = "data = []\nwhile True:\n    data.append(b'x' * (20 << 20))\n"
NEIGHBOUR = "import time\ndata = b'x' * (50 << 20)\nprint('klaar', flush=True)\ntime.sleep(120)\n"


def _real_group(group: str, memory: int) -> Plan:
    plan = hub_limits.prepare_platform(memory, 0.5, group)
    assert plan.enforced, f"as root, limits must be enforced with cgroups here: {plan.reason}"
    return plan


@pytest.mark.skipif(not IS_ROOT, reason="moving processes between cgroups needs root")
def test_a_process_over_its_limit_is_killed_and_its_neighbour_keeps_running():
    group = f"proeftuin-test-{os.getpid()}"
    plan = _real_group(group, 200 * MiB)
    try:
        assert plan.group.exists() and plan.group.limits()[0] == plan.total
        hog_join = hub_limits.prepare_server("hog", 200 * MiB, 0.5, group)
        neighbour_join = hub_limits.prepare_server("buur", 200 * MiB, 0.5, group)
        hog_cgroup, neighbour_cgroup = (hub_limits.server_cgroup(n, group) for n in ("hog", "buur"))
        assert hog_cgroup.limits() == (200 * MiB, 0.5)
        if hog_cgroup.version == 1 and (hog_cgroup.memory_dir / "memory.memsw.limit_in_bytes").exists():
            assert int((hog_cgroup.memory_dir / "memory.memsw.limit_in_bytes").read_text()) == 200 * MiB
        neighbour = subprocess.Popen([sys.executable, "-c", NEIGHBOUR], preexec_fn=neighbour_join,
                                     stdout=subprocess.PIPE, text=True)
        assert neighbour.stdout.readline().strip() == "klaar"
        hog = subprocess.run([sys.executable, "-c", HOG], preexec_fn=hog_join, timeout=120, capture_output=True)
        assert hog.returncode == -signal.SIGKILL, hog
        assert hog_cgroup.oom_kills() >= 1 and neighbour_cgroup.oom_kills() == 0
        assert neighbour.poll() is None and neighbour.pid in neighbour_cgroup.procs()

        # The server stopped: whatever is left in its cgroup is killed and the cgroup removed.
        assert hub_limits.release_server("buur", group) and hub_limits.release_server("hog", group)
        assert neighbour.wait(10) == -signal.SIGKILL
        assert not neighbour_cgroup.exists() and not hog_cgroup.exists()
    finally:
        hub_limits.release_platform(plan)
    assert not any(d.exists() for d in plan.group.dirs)


@pytest.mark.skipif(not IS_ROOT, reason="needs root")
def test_up_checks_that_the_kernel_enforces_the_limit():
    group = f"proeftuin-probe-{os.getpid()}"
    plan = _real_group(group, GiB)
    try:
        assert hub_limits.limit_is_enforced(plan.group)
        assert not [p for p in plan.group.memory_dir.iterdir() if p.is_dir()]  # the probe's cgroup is gone
        assert plan.describe().startswith("Limieten per notebookserver: 1 GiB geheugen, 0,5 CPU (cgroup v")
    finally:
        hub_limits.release_platform(plan)


# --- through a real hub -----------------------------------------------------------------------------

ANNE, BRAM = "anne-menen", "bram-avelgem"
LIMIT = GiB


class Kernel:
    """One kernel on a user's server, kept open over several cells (REST API + websocket)."""

    def __init__(self, who: Browser, name: str, url: str) -> None:
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        self.who, self.name = who, name
        response = who.api("POST", f"/user/{name}/api/kernels", json={"name": "python3"})
        assert response.status_code == 201, response.text
        self.id = response.json()["id"]
        ws_url = url.replace("http://", "ws://") + f"/user/{name}/api/kernels/{self.id}/channels"

        async def connect():
            return await websocket_connect(HTTPRequest(ws_url, headers={"Authorization": f"token {who.token}"},
                                                       connect_timeout=WS_TIMEOUT, request_timeout=WS_TIMEOUT))

        self.loop = asyncio.new_event_loop()
        self.conn = self.loop.run_until_complete(connect())

    def run(self, code: str, timeout: float = 180) -> tuple[str, str]:
        """(status, output): status is the reply's ok/error, or 'died' when the kernel was restarted."""
        return self.loop.run_until_complete(self._run(code, timeout))

    async def _run(self, code: str, timeout: float) -> tuple[str, str]:
        msg_id = uuid.uuid4().hex
        self.conn.write_message(execute_request(msg_id, code))
        output, status, idle = [], None, False
        deadline = time.monotonic() + timeout
        while not (status is not None and idle):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"kernel did not finish; output so far: {''.join(output)}"
            raw = await asyncio.wait_for(self.conn.read_message(), remaining)
            assert raw is not None, "kernel websocket closed"
            msg = json.loads(raw)
            kind = msg["header"]["msg_type"]
            if kind == "status" and msg["content"]["execution_state"] in ("restarting", "dead"):
                return "died", "".join(output)  # the server's restarter saw the kernel die
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if kind == "stream":
                output.append(msg["content"]["text"])
            elif kind == "error":
                output.append("\n".join(msg["content"]["traceback"]))
            elif kind == "execute_reply":
                status = msg["content"]["status"]
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                idle = True
        return status, "".join(output)

    def close(self) -> None:
        self.conn.close()
        self.loop.close()
        self.who.api("DELETE", f"/user/{self.name}/api/kernels/{self.id}")


@pytest.fixture(scope="module")
def limited_hub():
    with running_platform("proeftuin-limits-", (ANNE, BRAM), hub_settings={"limits": {"memory": "1G", "cpu": 0.5}}) \
            as started:
        yield started


@pytest.fixture(scope="module")
def two_users(limited_hub):
    """Anne (Menen) and Bram (Avelgem), signed up and approved, each with a running server."""
    hub, _ = limited_hub
    admin, users = admin_and_members(hub, {ANNE: "menen", BRAM: "avelgem"})
    start_server(users[ANNE], ANNE)  # from the fork server
    fork_server = hub.fork_server_pid()
    assert fork_server is not None and proc_field(server_pid(admin, ANNE), "PPid") == fork_server
    os.kill(fork_server, signal.SIGKILL)  # Bram's server starts the usual way (exec, preexec_fn)
    start_server(users[BRAM], BRAM)
    assert f"Fork server unavailable for {BRAM}" in hub.full_log()
    return admin, users[ANNE], users[BRAM]


def test_up_says_which_limits_it_applies(limited_hub):
    _, output = limited_hub
    line = next((x for x in output.splitlines() if x.startswith("Limieten per notebookserver:")), "")
    if IS_ROOT and hub_limits.Machine.current().v1_memory is not None:
        assert line.startswith("Limieten per notebookserver: 1 GiB geheugen, 0,5 CPU (cgroup v1; alle "
                               "notebookservers samen hoogstens "), output
    else:
        assert line, output


@pytest.mark.skipif(not IS_ROOT, reason="cgroups need root")
def test_each_server_and_its_kernels_are_in_the_users_cgroup(limited_hub, two_users):
    hub, _ = limited_hub
    admin, anne, _ = two_users
    group = hub_limits.group_name(hub.port)
    for name in (ANNE, BRAM):  # one forked, one exec'd server
        cgroup = hub_limits.server_cgroup(name, group)
        assert cgroup is not None and cgroup.exists(), hub.hub_log()
        pid = server_pid(admin, name)
        assert pid in cgroup.procs()
        memory_line = next(x for x in Path(f"/proc/{pid}/cgroup").read_text().splitlines() if ":memory:" in x)
        assert memory_line.endswith(f"/{group}/pt-{name}")
        assert cgroup.limits() == (LIMIT, 0.5)
        if cgroup.version == 1 and (cgroup.memory_dir / "memory.memsw.limit_in_bytes").exists():
            assert int((cgroup.memory_dir / "memory.memsw.limit_in_bytes").read_text()) == LIMIT
    kernel = Kernel(anne, ANNE, hub.url)
    try:
        status, output = kernel.run("import os\nprint(os.getpid(), os.environ['MEM_LIMIT'])")
        assert status == "ok", output
        kernel_pid, mem_limit = output.split()
        assert int(kernel_pid) in hub_limits.server_cgroup(ANNE, group).procs() and int(mem_limit) == LIMIT
    finally:
        kernel.close()


def test_a_memory_hog_is_stopped_in_dutch_and_the_others_carry_on(limited_hub, two_users):
    hub, _ = limited_hub
    admin, anne, bram = two_users
    anne_server = server_pid(admin, ANNE)
    kernel = Kernel(anne, ANNE, hub.url)
    try:
        # Far more than the limit in one go: MemoryError with the Dutch message; the kernel lives on.
        status, output = kernel.run("frame = bytearray(3 * 2**30)")
        assert status == "error", output
        assert "Te weinig geheugen: je notebook gebruikt meer geheugen dan de 1 GiB die een notebookserver mag " \
               "gebruiken." in output
        assert "werk met een kleiner deel van de gegevens" in output and "herstart de kernel" in output
        assert kernel.run("print('nog hier')") == ("ok", "nog hier\n")

        # Growing past the kernel's own soft limit too: the cgroup's OOM killer stops the kernel.
        if IS_ROOT:
            status, output = kernel.run(textwrap.dedent("""
                import resource
                resource.setrlimit(resource.RLIMIT_DATA, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
                chunks = []
                for _ in range(40):
                    chunks.append(b"x" * (100 << 20))
                print("niet gestopt")
            """), timeout=240)
            assert status == "died", output
    finally:
        kernel.close()

    # The hub answers, Anne's server survived (the kernel was killed, not JupyterLab), Bram works on.
    assert admin.api("GET", "/hub/api/").status_code == 200
    model = admin.api("GET", f"/hub/api/users/{ANNE}").json()
    assert model["servers"][""]["ready"] and server_pid(admin, ANNE) == anne_server
    os.kill(anne_server, 0)
    other = Kernel(bram, BRAM, hub.url)
    try:
        assert other.run("print(sum(range(10)))") == ("ok", "45\n")
    finally:
        other.close()
    if IS_ROOT:
        group = hub_limits.group_name(hub.port)
        assert hub_limits.server_cgroup(ANNE, group).oom_kills() >= 1
        assert hub_limits.server_cgroup(BRAM, group).oom_kills() == 0
        # The next kernel of Anne's server says in Dutch what happened.
        again = Kernel(anne, ANNE, hub.url)
        try:
            status, output = again.run("print('verder')")
            assert status == "ok" and "Let op: een kernel van je notebookserver werd gestopt omdat hij meer " \
                                      "geheugen gebruikte dan de 1 GiB" in output and output.endswith("verder\n")
            assert again.run("print('verder')") == ("ok", "verder\n")  # said once
        finally:
            again.close()


@pytest.mark.skipif(not IS_ROOT, reason="cgroups need root")
def test_no_user_process_outlives_its_server(limited_hub, two_users):
    hub, _ = limited_hub
    _, anne, bram = two_users
    group = hub_limits.group_name(hub.port)
    kernel = Kernel(bram, BRAM, hub.url)
    try:
        status, output = kernel.run("import subprocess\nprint(subprocess.Popen(['sleep', '1000'], "
                                    "start_new_session=True).pid)")
        assert status == "ok", output
        background = int(output)
    finally:
        kernel.close()
    cgroup = hub_limits.server_cgroup(BRAM, group)
    assert background in cgroup.procs()
    stop_server(bram, BRAM)
    wait_until(lambda: not cgroup.exists(), 30, "Bram's cgroup to be removed")

    def gone() -> bool:
        try:
            return "\nState:\tZ" in Path(f"/proc/{background}/status").read_text()
        except FileNotFoundError:
            return True

    wait_until(gone, 10, "the background process to be killed")
    stop_server(anne, ANNE)
    wait_until(lambda: not hub_limits.server_cgroup(ANNE, group).exists(), 30, "Anne's cgroup to be removed")


def test_stopping_up_removes_the_platforms_cgroup(limited_hub, two_users):
    hub, _ = limited_hub
    group = hub_limits.group_name(hub.port)
    platform = hub_limits.find_group(group)
    hub.stop()
    if IS_ROOT and platform is not None:
        assert not any(d.exists() for d in platform.dirs)
    hub_limits.find_group.cache_clear()
