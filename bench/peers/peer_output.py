"""What both peers print when they finish: one JSON line the bench reads."""

import json


def report(client, contracts, seconds, arrears_minor_units, invoices):
    """Prints the run's figures and the checksums (sum of arrears in minor units, open invoices) by which
    the bench checks that every client decoded the same contracts."""
    peak_kilobytes = peak_resident_kilobytes()
    print(json.dumps({
        "client": client, "contracts": contracts, "seconds": round(seconds, 3),
        "contracts_per_second": round(contracts / seconds, 1) if seconds > 0 else 0,
        "peak_rss_mb": round(peak_kilobytes / 1024, 1),
        "arrears_minor_units": arrears_minor_units, "invoices": invoices,
    }), flush=True)


def peak_resident_kilobytes():
    """This process's VmHWM. Not getrusage's ru_maxrss: Linux carries that across execve, so a client the
    bench starts would report the bench's own peak from before the exec."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")
