build-asan/agent/config_text.o: agent/config_text.c agent/config_text.h
agent/config_text.h:
