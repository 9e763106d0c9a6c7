"""gunicorn settings for every Jalin API (local and production).

Threads serve concurrent requests inside one worker process (the work is I/O bound: MongoDB);
processes scale by CPU. In Kubernetes, prefer more replicas over more workers per pod.
"""
import multiprocessing
import os

bind = os.environ.get("JALIN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("JALIN_WEB_WORKERS", "0")) or max(2, multiprocessing.cpu_count())
worker_class = "gthread"
threads = int(os.environ.get("JALIN_WEB_THREADS", "8"))
timeout = 30            # a request running longer than this is killed and logged
graceful_timeout = 30   # on SIGTERM, in-flight requests get this long to finish
keepalive = 5
max_requests = 10000    # recycle workers now and then (memory hygiene)
max_requests_jitter = 1000
accesslog = None        # the app writes JSON access logs with correlation ids
errorlog = "-"
loglevel = os.environ.get("JALIN_LOG_LEVEL", "info").lower()
limit_request_line = 8190
forwarded_allow_ips = os.environ.get("JALIN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn 27's runtime control socket defaults to one path per user, which several APIs on one
# host would fight over; Jalin is managed by signals (SIGTERM = graceful stop) instead.
control_socket_disable = True
