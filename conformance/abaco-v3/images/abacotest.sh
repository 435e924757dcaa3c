#!/bin/sh
# Stand-in for nshresth/abacotest:1.0 (run_as_executor tests): print the message, then the uid/gid.
echo "Contents of MSG: $MSG"
echo "***"
id -u | sed 's/^/uid=/' | tr '\n' ' '; id -g | sed 's/^/gid=/'
