"""Inside notebook servers and kernels: say in Dutch, in the notebook, when a kernel runs out of memory.

The server's cgroup (`proeftuin.hub.limits`) is the hard limit: a process that goes over it is killed by
the kernel's OOM killer, and JupyterLab then only shows its "kernel died" dialog. So every Python kernel
on a Proeftuin server loads this module as an IPython extension, which

- sets a soft `RLIMIT_DATA` a bit below the server's limit (`MEM_LIMIT`, see `kernel_soft_limit`): a big
  allocation then fails inside the cell with `MemoryError` before the cgroup has to kill anything, and
  the kernel, with all its variables, lives on;
- shows that `MemoryError` with a Dutch explanation and what to do next, above the usual traceback;
- raises the kernel's `oom_score_adj`, so when the cgroup does kill (several kernels together, or code
  that raised its own soft limit) it picks a kernel rather than the JupyterLab server;
- after such a kill, says so in the first cell that runs in a new kernel of that server.

Arrow's default allocator (mimalloc, which pandas uses through pyarrow) reserves a 1 GiB arena up front,
which counts against RLIMIT_DATA though it is never touched; kernels with a soft limit use the system
allocator instead (`ARROW_DEFAULT_MEMORY_POOL=system`, unless the user chose one).

How kernels load it: the spawner starts servers with `--ServerApp.kernel_spec_manager_class=
proeftuin.hub.kernel.ProeftuinKernelSpecManager`, which adds `--IPKernelApp.extra_extensions=
proeftuin.hub.kernel` to every ipykernel kernelspec (the platform's and a user's own). IPython does not
read ipython_kernel_config.py from JUPYTER_CONFIG_PATH (only from the profile, <sys.prefix>/etc/ipython
and /etc/ipython), so the server is where this can be set. A kernel whose Python lacks `proeftuin` logs
a warning and runs without it; the cgroup still applies.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager

from proeftuin.hub.limits import ENV_MEMORY, format_memory, kernel_soft_limit, own_cgroup

EXTENSION = "proeftuin.hub.kernel"
EXTENSION_ARG = f"--IPKernelApp.extra_extensions={EXTENSION}"
KERNEL_OOM_SCORE_ADJ = 500
RED, RESET = "\x1b[1;31m", "\x1b[0m"


class ProeftuinKernelSpecManager(KernelSpecManager):
    """Kernelspecs as usual; ipykernel kernels also load the Proeftuin extension."""

    def get_kernel_spec(self, kernel_name):
        spec = super().get_kernel_spec(kernel_name)
        if is_ipykernel(spec.argv) and EXTENSION_ARG not in spec.argv:
            spec.argv = [*spec.argv, EXTENSION_ARG]
        return spec


def is_ipykernel(argv: list[str]) -> bool:
    return any(part in ("ipykernel_launcher", "ipykernel") for part in argv[1:4])


def server_memory_limit() -> int:
    """The server's memory limit in bytes: MEM_LIMIT from the hub, else the cgroup's; 0 when none."""
    try:
        limit = int(os.environ.get(ENV_MEMORY) or 0)
    except ValueError:
        limit = 0
    if not limit:
        cgroup = own_cgroup()
        try:
            limit = (cgroup.limits()[0] or 0) if cgroup is not None else 0
        except (OSError, ValueError):
            limit = 0
    return limit


def apply_soft_limit(limit: int) -> int:
    """A soft RLIMIT_DATA below the server's limit (never above what is already set); returns it."""
    import resource

    if not limit:
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    wanted = kernel_soft_limit(limit)
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft <= wanted:
        return soft
    resource.setrlimit(resource.RLIMIT_DATA, (wanted, hard))
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    return wanted


def memory_message(limit: int) -> list[str]:
    """The Dutch explanation shown above a MemoryError."""
    if limit:
        first = (f"Te weinig geheugen: je notebook gebruikt meer geheugen dan de {format_memory(limit)} die een "
                 "notebookserver mag gebruiken.")
    else:
        first = "Te weinig geheugen: je notebook vraagt meer geheugen dan er op de machine vrij is."
    return [
        f"{RED}{first}{RESET}",
        "De cel is gestopt; je kernel draait nog en je andere variabelen zijn er nog.",
        "Wat je kan doen:",
        "  - werk met een kleiner deel van de gegevens, bv. pd.read_csv(pad, nrows=100_000) of df.sample(frac=0.1);",
        "  - ruim grote variabelen op die je niet meer nodig hebt: del naam;",
        "  - herstart de kernel (menu Kernel > Restart Kernel) om al het geheugen vrij te maken.",
        "Heb je echt meer nodig? Vraag de beheerder van Proeftuin om hub.limits.memory te verhogen.",
        "",
    ]


def oom_notice(limit: int) -> str:
    amount = f"de {format_memory(limit)} die een notebookserver mag gebruiken" if limit else "het beschikbare geheugen"
    return (f"{RED}Let op: een kernel van je notebookserver werd gestopt omdat hij meer geheugen gebruikte dan "
            f"{amount}.{RESET}\nDe variabelen van die kernel zijn weg. Voer de cellen opnieuw uit, met een kleiner "
            "deel van de gegevens (of ruim grote variabelen op met del naam).\n")


class _OomWatch:
    """Tells the first cell of a kernel that the server's cgroup killed something since the user last heard."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.cgroup = own_cgroup()
        self.state = None
        self.pending = 0
        if self.cgroup is None:
            return
        try:
            from jupyter_core.paths import jupyter_runtime_dir

            key = self.cgroup.memory_dir.stat().st_ino  # a new server has a new cgroup, counting from 0
            self.state = Path(jupyter_runtime_dir()) / f"proeftuin-oom-{key}"
            seen = int(self.state.read_text()) if self.state.exists() else 0
        except (OSError, ValueError):
            seen = 0
        kills = self.cgroup.oom_kills()
        self.pending = kills if kills > seen else 0

    def __call__(self, *args) -> None:
        if not self.pending:
            return
        kills, self.pending = self.pending, 0
        sys.stdout.write(oom_notice(self.limit))
        sys.stdout.flush()
        if self.state is not None:
            try:
                self.state.parent.mkdir(parents=True, exist_ok=True)
                self.state.write_text(str(kills))
            except OSError:
                pass


def load_ipython_extension(ip) -> None:
    limit = server_memory_limit()
    try:
        apply_soft_limit(limit)
    except (OSError, ValueError):
        pass
    try:
        Path("/proc/self/oom_score_adj").write_text(str(KERNEL_OOM_SCORE_ADJ))  # raising needs no privilege
    except OSError:
        pass
    lines = memory_message(limit)

    def on_memory_error(shell, etype, value, tb, tb_offset=None):
        stb = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
        shell._showtraceback(etype, value, [*lines, *stb])  # what showtraceback does, with our lines first

    ip.set_custom_exc((MemoryError,), on_memory_error)
    watch = _OomWatch(limit)
    if watch.pending:
        ip.events.register("pre_run_cell", watch)
