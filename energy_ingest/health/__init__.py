"""Data health (docs/health.md): is each report series arriving on time, does each point's data
make sense, and who is told — evaluated by the daemon after each file and on a timer.

    findings.py  Finding: one condition found now on one subject (what every check returns)
    series.py    report series: cadence from run times (else data spans), overdue, live
    points.py    each point's status: stale, flat, out of range, spike, retired, historical
    limits.py    plausible ranges by unit and quantity, and the site file's [health] settings
    rules.py     the site file's [[rules]] as alerts: point search, value condition, window, count
    alerts.py    pending → firing → resolved with hysteresis, inhibition, repeat reminders
    alert_rows.py  the alerts table's rows as Alert values
    grouping.py  a building's many stale points as one alert; what an overdue series inhibits
    outbox.py    notices stored with the evaluation, sent after it
    notices/     what a notice says (compose, digest) and how it goes (mail, webhook)
    evaluate.py  one evaluation at a given time: all of the above in one transaction

Everything is computed in SQL over the ledger, rollups and the newest readings; nothing loads a
series into Python. Every function takes the time to evaluate at (`now`), so tests control it.
"""
