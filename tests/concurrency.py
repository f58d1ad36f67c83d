"""race(*callables): the thread-and-barrier setup of the tests that make requests or jobs
collide, in one place.

    statuses = race(lambda: first.post(url).status_code, lambda: second.post(url).status_code)
    assert sorted(statuses) == [303, 409]
"""
import threading


def race(*callables, timeout=60):
    """Call each callable in its own thread, all released at once by a barrier; wait for them.

    Returns, in the order given, what each returned or the exception it raised, so that a
    failure in a thread reaches the test's assertions instead of a thread's traceback.
    Raises TimeoutError if one is still running after `timeout` seconds of waiting for it."""
    barrier = threading.Barrier(len(callables))
    outcomes = [None] * len(callables)

    def run(index, call):
        try:
            barrier.wait(timeout)
            outcomes[index] = call()
        except Exception as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i, call), daemon=True) for i, call in enumerate(callables)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    stuck = [i for i, thread in enumerate(threads) if thread.is_alive()]
    if stuck:
        raise TimeoutError(f"callables {stuck} still running after {timeout} s")
    return outcomes
