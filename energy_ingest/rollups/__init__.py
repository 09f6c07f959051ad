"""Rollups' pure rules (the write layer maintains the tables, the API reads them).

calendar.py  the one rule for local days, weeks and months
hours.py     how hourly rows are read from readings_hours (SQL the API and health share)
scale.py     how rollup sums are scaled (SQL the API and the loader share)
"""
