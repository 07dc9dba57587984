# The two commands a newcomer needs (both set themselves up first):
#   make demo   the kiosk pipeline on generated codes, then a local provincial server, the touchscreen app on the
#               demo camera and the sync worker sending its visits to the server (scripts/demo)
#   make test   lint, type-check, import contracts and the whole test suite
.PHONY: demo test setup soak bench bench-wechat screenshots server-screenshots translations

demo: setup
	scripts/demo

# PNGs of every screen and state of the touchscreen app, both languages, 800x480 and 720x1280.
screenshots: setup
	.venv/bin/python scripts/screenshots --out docs/screenshots

server-screenshots: setup
	.venv/bin/python scripts/server-screenshots --out docs/screenshots/server

# Update the translation files from the sources and compile them (ui/i18n/).
translations: setup
	.venv/bin/python scripts/i18n

test:
	scripts/test

setup:
	scripts/bootstrap

soak: setup
	KIOSK_SOAK=1 KIOSK_CRASH_CYCLES=1000 KIOSK_POWER_CYCLES=500 .venv/bin/python -m pytest tests/test_store_crash.py tests/test_payloads.py tests/test_dcc.py tests/test_sync_e2e.py

bench: setup
	.venv/bin/python bench/decode.py --markdown docs/benchmarks.md
	.venv/bin/python bench/loop.py --markdown docs/benchmarks.md
	.venv/bin/python bench/sync.py --markdown docs/benchmarks.md

# The decoder against WeChat QR in the same run. WeChat needs opencv-contrib 4.x, which cannot share a venv
# with the product's OpenCV 5 wheel, so it gets its own (.venv-wechat, never used by the product).
bench-wechat:
	test -x .venv-wechat/bin/python || python3 -m venv .venv-wechat
	.venv-wechat/bin/python -m pip install -q "opencv-contrib-python-headless>=4.9,<5" zxing-cpp numpy peewee cryptography cbor2 segno pyzbar
	.venv-wechat/bin/python -m pip install -q --no-deps -e .
	.venv-wechat/bin/python bench/decode.py --res vga --peers ours,zxing --wechat-models ../shared/data/wechat-qr-models --markdown docs/benchmarks.md --section decode-bench-wechat
