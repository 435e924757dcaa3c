"""pytest plugin of the v3 kit (loaded with -p v3kit_pytest).

util.py's session fixture `wait_for_rabbit` polls RabbitMQ with
`/home/tapis/rabbitmqadmin ... list vhosts` (8 tries, 2 s apart) and then sleeps 7 s.
An emulator has no RabbitMQ; the fixture is answered here without running it.
"""
import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(fixturedef, request):
    if fixturedef.argname == "wait_for_rabbit":
        value = "v3kit: no RabbitMQ behind abaco-emulator; not polled"
        fixturedef.cached_result = (value, fixturedef.cache_key(request), None)
        return value
    return None
