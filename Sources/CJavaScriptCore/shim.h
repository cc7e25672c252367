#ifndef INLET_CJAVASCRIPTCORE_SHIM_H
#define INLET_CJAVASCRIPTCORE_SHIM_H
// Debian's libjavascriptcoregtk-4.1 (package libjavascriptcoregtk-4.1-dev): the JavaScriptCore C API.
#include <JavaScriptCore/JavaScript.h>

// Exported by the library but not declared in its public headers: stops a script that runs
// longer than `limit` seconds (the callback decides; returning true terminates it).
typedef bool (*JSShouldTerminateCallback)(JSContextRef ctx, void *context);
JS_EXPORT void JSContextGroupSetExecutionTimeLimit(JSContextGroupRef group, double limit,
                                                   JSShouldTerminateCallback callback, void *context);
JS_EXPORT void JSContextGroupClearExecutionTimeLimit(JSContextGroupRef group);

// Also exported but undeclared (JavaScriptCore's JSBasePrivate.h): the heap's statistics as an
// object ({heapSize, heapCapacity, extraMemorySize, objectCount, ...}), and a full collection.
JS_EXPORT JSObjectRef JSGetMemoryUsageStatistics(JSContextRef ctx);
JS_EXPORT void JSSynchronousGarbageCollectForDebugging(JSContextRef ctx);
#endif
