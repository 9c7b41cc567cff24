#!/usr/bin/env bash
# Rebuilds the committed shim package from its nuspec (a nupkg is a zip holding the nuspec).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/patched.distributedlock.core.1.0.11.nupkg"
rm -f "$out"
(cd "$here/src" && python3 -c 'import zipfile,sys; z=zipfile.ZipFile(sys.argv[1],"w",zipfile.ZIP_DEFLATED); z.write("Patched.DistributedLock.Core.nuspec"); z.close()' "$out")
echo "$out"
