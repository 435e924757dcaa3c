# Stand-in for abacosamples/py3_func_v3 (the kit's own, written for the emulator): reads the
# cloudpickled {"func", "args", "kwargs", "cwd"?} binary message with tapipy.actors, calls
# the function and returns the result with tapipy.actors.send_python_result, as the
# real image's /call_f.py does on top of abacosamples/py3_base_v3.
import os
import cloudpickle
from tapipy.actors import get_binary_message, send_python_result

m = cloudpickle.loads(get_binary_message())
if m.get("cwd") and os.path.isdir(m["cwd"]):
    os.chdir(m["cwd"])
result = m["func"](*(m.get("args") or ()), **(m.get("kwargs") or {}))
send_python_result(result)
print("result: {}".format(result))
