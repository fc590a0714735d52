"""The "Real or fake?" quiz of issue #16: people judge real and generated pictures (docs/QUIZ.md).

    protocol.py   the two protocols, session plans, the pool file and the answer log (standard library)
    stats.py      HYPE-inf, fooling rate, real accuracy with bootstrap intervals (NumPy)
    report.py     one table comparing runs; `gankit quiz-report`
    pool.py       `gankit quiz-prepare`: real and generated pictures under random names (torch)

Only pool.py loads torch; the web server imports protocol, stats and report alone.
"""
