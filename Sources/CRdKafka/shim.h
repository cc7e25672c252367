#ifndef INLET_CRDKAFKA_SHIM_H
#define INLET_CRDKAFKA_SHIM_H
// Debian's librdkafka 2.0.2 (package librdkafka-dev): the client API and the built-in mock
// cluster that `inlet dev` and the tests use as an embedded broker.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#endif
