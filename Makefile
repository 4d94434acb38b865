.PHONY: run test bench help

help:
	@echo "make run   - run kb on the embedded default (SQLite, database search) with the seed data"
	@echo "make test  - start PostgreSQL, Redis and Elasticsearch and run the whole test suite"

run:
	scripts/run.sh

test:
	scripts/test.sh
