"""What the outbox sends (energy_ingest.health.outbox stores and retries them):

compose.py  a notice's subject, mail text and webhook JSON, from alerts
digest.py   the daily digest: when it is due, what it lists
mail.py     SMTP (ENERGY_SMTP_URL) through smtplib
webhook.py  a JSON POST to ENERGY_WEBHOOK_URL
"""
