"""Profile portal URLs in-process with pyinstrument, on the benchmark's database, signed in as the
10,000-document contact: where a missed target's time goes.

    .venv/bin/python -m bench.profile / /invoices?page=300 [--repeat 50] [--htmx] [--email E]
    .venv/bin/python -m bench.profile /cart/items --htmx --post 'product_id={n}&quantity=1'

Needs `pip install -e '.[bench]'` (pyinstrument) and bench/results/run/portal.db from a
`make bench` (or DATABASE_URL pointing at the benchmark's PostgreSQL copy). Also prints the
queries of one request, from the 'peewee' logger.
"""
import argparse
import logging
import os
import secrets
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--htmx", action="store_true", help="send HX-Request: true")
    parser.add_argument("--email", default="big@bench.test")
    parser.add_argument("--show-sql", action="store_true")
    parser.add_argument("--post", metavar="FORM", help="POST this urlencoded form ({n}: 2, 3, ... per request)")
    args = parser.parse_args()
    from pyinstrument import Profiler

    from bench import build
    from bench.run import CSRF_HEADER, CSRF_INPUT
    os.environ.setdefault("DATABASE_URL", "sqlite:///" + os.path.join(build.RESULTS, "run", "portal.db"))
    os.environ.update(PORTAL_ENV="production", SECRET_KEY=secrets.token_hex(32),
                      INSTANCE_PATH=os.path.join(build.RESULTS, "run", "instance-profile"))
    from app import create_app
    app = create_app()
    client = app.test_client()
    token = CSRF_INPUT.search(client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"email": args.email, "password": build.PASSWORD, "csrf_token": token})
    csrf = CSRF_HEADER.search(client.get("/").get_data(as_text=True))
    headers = {"X-CSRFToken": csrf.group(1) or csrf.group(2)}
    if args.htmx:
        headers["HX-Request"] = "true"
    counter = iter(range(2, 10 ** 9))

    def send(url):
        if args.post is None:
            return client.get(url, headers=headers)
        from urllib.parse import parse_qsl
        n = str(next(counter))
        return client.post(url.replace("{n}", n), headers=headers,
                           data=dict(parse_qsl(args.post.replace("{n}", n))))

    for url in args.urls:
        send(url)   # warm
        queries = []
        handler = logging.Handler()
        handler.emit = lambda record: queries.append(record.msg)  # noqa: B023 (removed before the next url)
        peewee_log = logging.getLogger("peewee")
        peewee_log.addHandler(handler)
        peewee_log.setLevel(logging.DEBUG)
        status = send(url).status_code
        peewee_log.removeHandler(handler)
        print(f"== {url}: {status}, {len(queries)} queries")
        if args.show_sql:
            for sql, params in queries:
                print("   ", sql[:300], params[:6] if params else "")
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(args.repeat):
            send(url)
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))


if __name__ == "__main__":
    main()
