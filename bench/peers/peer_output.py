"""What both peers print when they finish: one JSON line the bench reads."""

import json
import resource


def report(client, contracts, seconds, arrears_minor_units, invoices):
    """Prints the run's figures and the checksums (sum of arrears in minor units, open invoices) by which
    the bench checks that every client decoded the same contracts."""
    peak_kilobytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    print(json.dumps({
        "client": client, "contracts": contracts, "seconds": round(seconds, 3),
        "contracts_per_second": round(contracts / seconds, 1) if seconds > 0 else 0,
        "peak_rss_mb": round(peak_kilobytes / 1024, 1),
        "arrears_minor_units": arrears_minor_units, "invoices": invoices,
    }), flush=True)
