# Commands (see README.md):
#   make student - build the student bundle and open it in JupyterLab as a student gets it (its own environment)
#   make lab     - set up (once) and open the source notebooks (with solutions) in JupyterLab: authors, instructors
#   make test    - set up (once) and run the whole test suite (lint + unit + notebooks + grading + browser)
# Instructor commands (release, collect, autograde, feedback, grades, validate) are below.

SHELL := /bin/bash
PYTHON3 ?= python3
PY = $$($(PYTHON3) scripts/bootstrap.py)
PYTEST_ARGS ?=
LAB_ARGS ?=
# nbval runs the committed notebooks in the current interpreter and compares outputs.
NBVAL = --nbval --nbval-current-env --nbval-sanitize-with notebooks/nbval_sanitize.cfg

.PHONY: lab student test lint unit env sandbox lock bench config release collect autograde feedback grades export \
	return withdraw validate hub

env:
	@$(PYTHON3) scripts/bootstrap.py >/dev/null

# The grading sandbox needs Debian's bubblewrap (and setpriv, util-linux). As root with apt-get it is
# installed here; otherwise this fails, naming the command to run (never a silent skip).
sandbox:
	@command -v bwrap >/dev/null && command -v setpriv >/dev/null && ldconfig -p | grep -q libseccomp.so.2 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "[sandbox] installing bubblewrap and libseccomp2 (apt-get)"; \
	    (apt-get update -qq || true) >/dev/null 2>&1; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap util-linux libseccomp2 >/dev/null; \
	  else \
	    echo "the grading sandbox needs bubblewrap and libseccomp2: sudo apt-get install bubblewrap libseccomp2 (see grading/README.md)"; exit 1; \
	  fi; }
	@command -v bwrap >/dev/null || { echo "bubblewrap could not be installed"; exit 1; }

lab: env
	@PY=$(PY); cd notebooks && exec $$PY -m jupyter lab $(LAB_ARGS) $$([ "$$(id -u)" = 0 ] && echo --allow-root)

# The student bundle (grading/bundle/dl-opt-setup-student, made by the release step) in its own environment,
# installed by the bundle's README route (.venv-student/: JupyterLab, the kernel, pinned deps, no nbgrader).
STUDENT_DIR = grading/bundle/dl-opt-setup-student
student: env
	@PY=$(PY); $$PY -m grading.course release
	@V=$$PWD/.venv-student; [ -x $$V/bin/python ] || $(PYTHON3) -m venv $$V; \
	cd $(STUDENT_DIR) && $$V/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt && \
	echo "[student] JupyterLab on $(STUDENT_DIR) (check: $$V/bin/python validate.py notebooks/*/*.ipynb)" && \
	exec $$V/bin/python -m jupyter lab $(LAB_ARGS) $$([ "$$(id -u)" = 0 ] && echo --allow-root)

lint: env
	@PY=$(PY); $$PY -m ruff check helpers tests grading benchmarks scripts notebooks hub

test: env sandbox
	@PY=$(PY); set -e; \
	echo "== ruff"; $$PY -m ruff check helpers tests grading benchmarks scripts notebooks hub; \
	echo "== pytest"; OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $$PY -m pytest -n 2 --dist loadfile $(NBVAL) tests notebooks $(PYTEST_ARGS)

unit: env
	@PY=$(PY); $$PY -m pytest tests -m "not slow" $(PYTEST_ARGS)

bench: env
	@PY=$(PY); for b in benchmarks/bench_*.py; do echo "== $$b"; $$PY $$b; done

# Refresh the exact pins from the ranges in pyproject.toml (maintainers only).
lock:
	@rm -rf .lock-venv && $(PYTHON3) -m venv .lock-venv && \
	.lock-venv/bin/pip install -q -e ".[test]" && \
	( echo "# Exact pins used by the bootstrap (scripts/bootstrap.py) for a reproducible term."; \
	  echo "# Regenerate with: make lock   (ranges live in pyproject.toml)"; \
	  .lock-venv/bin/pip freeze --exclude-editable | grep -v '^-e' ) > constraints.txt && \
	rm -rf .lock-venv && echo "constraints.txt updated; update environment.yml to match (tests/test_environment.py checks)"

# ---------------------------------------------------------------- instructor (grading/README.md)
# make config | make release | make collect INBOX=dir-or-zip [ASSIGNMENT=name] [LMS=canvas|moodle]
# make autograde [STUDENT="id ..."] [ASSIGNMENT="name ..."] [JOBS=n] | make feedback | make grades
# make export [FORMATS="canvas moodle csv"] | make return | make withdraw STUDENT=id [ASSIGNMENT=name] [UNDO=1]
# make validate NB=path/to/notebook.ipynb     (every target: grading/README.md)
GRADE = PY=$(PY); $$PY -m grading.course
EACH = $(foreach v,$(2),$(1) $(v))
config: env
	@$(GRADE) config
release: env
	@$(GRADE) release
collect: env
	@test -n "$(INBOX)" || { echo "usage: make collect INBOX=folder-or-zip [ASSIGNMENT=name] [LMS=canvas|moodle]"; exit 2; }
	@$(GRADE) collect "$(INBOX)" $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT)) $(if $(LMS),--lms $(LMS))
autograde: env
	@$(GRADE) autograde $(call EACH,--student,$(STUDENT)) $(call EACH,--assignment,$(ASSIGNMENT)) \
		$(if $(JOBS),--jobs $(JOBS)) $(if $(NO_SANDBOX),--no-sandbox)
feedback: env
	@$(GRADE) feedback $(call EACH,--student,$(STUDENT)) $(call EACH,--assignment,$(ASSIGNMENT))
grades: env
	@$(GRADE) grades
export: env
	@$(GRADE) export $(FORMATS)
return: env
	@$(GRADE) return
withdraw: env
	@test -n "$(STUDENT)" || { echo "usage: make withdraw STUDENT=id [ASSIGNMENT=name] [UNDO=1]"; exit 2; }
	@$(GRADE) withdraw $(STUDENT) $(ASSIGNMENT) $(if $(UNDO),--undo)
validate: env
	@test -n "$(NB)" || { echo "usage: make validate NB=notebooks/01_normalizing_inputs/normalizing_inputs.ipynb"; exit 2; }
	@$(GRADE) validate $(NB)

# ---------------------------------------------------------------- the course on a JupyterHub (grading/HUB.md)
# sudo make hub HUB_INSTRUCTOR=instructor HUB_STUDENTS="alovelace bhopper" [HUB_PREFIX=/srv/dl-opt-setup]
#     [HUB_IP=0.0.0.0] [HUB_PORT=8000] [CREATE_ACCOUNTS=1] [HUB_COURSE_ROOT=~instructor/course/grading]
#     [HUB_API_PORT=8081] [HUB_PROXY_API_PORT=8001] (a second Hub on the machine: other ports)
#     [HUB_MEM_LIMIT=2G] [HUB_CPU_LIMIT=1] [HUB_CULL_IDLE=3600] (per user server; '' / 0: none):
#     installs (python -m hub install) and starts the Hub.
HUB_PREFIX ?= /srv/dl-opt-setup
HUB_IP ?= 127.0.0.1
HUB_PORT ?= 8000
HUB_API_PORT ?= 8081
HUB_PROXY_API_PORT ?= 8001
HUB_MEM_LIMIT ?= 2G
HUB_CPU_LIMIT ?= 1
HUB_CULL_IDLE ?= 3600
hub: env sandbox
	@test -n "$(HUB_INSTRUCTOR)" || { echo 'usage: sudo make hub HUB_INSTRUCTOR=name HUB_STUDENTS="name ..." [CREATE_ACCOUNTS=1]'; exit 2; }
	@PY=$(PY); $$PY -m hub --prefix $(HUB_PREFIX) install --instructor $(HUB_INSTRUCTOR) \
		$(call EACH,--student,$(HUB_STUDENTS)) --ip $(HUB_IP) --port $(HUB_PORT) \
		--hub-port $(HUB_API_PORT) --proxy-api-port $(HUB_PROXY_API_PORT) --mem-limit '$(HUB_MEM_LIMIT)' \
		--cpu-limit $(HUB_CPU_LIMIT) --cull-idle $(HUB_CULL_IDLE) \
		$(if $(CREATE_ACCOUNTS),--create-accounts) $(if $(HUB_COURSE_ROOT),--course-root "$(HUB_COURSE_ROOT)") && exec $$PY -m hub --prefix $(HUB_PREFIX) start
