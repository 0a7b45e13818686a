"""Memory sizes and CPU shares as people write them in proeftuin.yaml ('4G', '1,5'), and back in Dutch."""

from __future__ import annotations

import re

from proeftuin.wording import decimal

MiB = 1 << 20
GiB = 1 << 30
DEFAULT_MEMORY = 4 * GiB
DEFAULT_CPU = 1.0
MIN_MEMORY = 512 * MiB  # JupyterLab uses about 150 MiB, a kernel that imported pandas as much again
MIN_CPU = 0.1
MAX_CPU = 1024.0

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": MiB, "g": GiB, "t": 1 << 40}
_SIZE = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)


def parse_memory(value: object) -> int:
    """'4G', '512M', '1,5GiB', 4294967296 or 0 (no limit) -> bytes. K, M, G and T are binary (G = GiB).
    Raises ValueError with a Dutch message."""
    example = "schrijf bv. 4G of 512M (G = GiB), of 0 voor geen limiet"
    if isinstance(value, bool) or value is None:
        raise ValueError(f"geef een geheugengrootte op: {example}")
    if isinstance(value, int | float):
        number, unit = float(value), ""
    else:
        match = _SIZE.match(str(value))
        if not match:
            raise ValueError(f"'{value}' is geen geheugengrootte; {example}")
        number, unit = float(match.group(1).replace(",", ".")), match.group(2).lower()
    size = int(number * _UNITS[unit])
    if size < 0:
        raise ValueError(f"een geheugengrootte kan niet negatief zijn; {example}")
    if 0 < size < MIN_MEMORY:
        raise ValueError(f"{format_memory(size)} is te weinig voor een notebookserver (JupyterLab en een kernel met "
                         "pandas gebruiken samen al zo'n 300 MiB); geef minstens 512M op, of 0 voor geen limiet")
    return size


def parse_cpu(value: object) -> float:
    """1, 0.5, '1,5' or 0 (no limit) -> CPUs' share. Raises ValueError with a Dutch message."""
    example = "schrijf bv. 1 (één CPU), 0.5 (een halve) of 2, of 0 voor geen limiet"
    if isinstance(value, bool) or value is None:
        raise ValueError(f"geef een aantal CPU's op: {example}")
    try:
        cpu = float(str(value).strip().replace(",", ".")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise ValueError(f"'{value}' is geen aantal CPU's; {example}") from None
    if cpu != cpu or cpu < 0:  # NaN or negative
        raise ValueError(f"'{value}' is geen geldig aantal CPU's; {example}")
    if 0 < cpu < MIN_CPU:
        raise ValueError(f"{format_cpu(cpu)} is te weinig om een notebook te laten werken; geef minstens 0.1 op, "
                         "of 0 voor geen limiet")
    if cpu > MAX_CPU:
        raise ValueError(f"{value} CPU's is meer dan een machine heeft; {example}")
    return cpu


def format_memory(size: int) -> str:
    """4294967296 -> '4 GiB', 1610612736 -> '1,5 GiB', 536870912 -> '512 MiB'."""
    if size >= GiB:
        return f"{decimal(round(size / GiB, 1))} GiB"
    return f"{decimal(round(size / MiB))} MiB"


def format_cpu(cpu: float) -> str:
    """1 -> '1 CPU', 0.5 -> '0,5 CPU', 2 -> "2 CPU's"."""
    unit = "CPU" if cpu <= 1 else "CPU's"
    return f"{decimal(round(cpu, 2))} {unit}"
