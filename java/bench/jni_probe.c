/* A small JNI library for CallCost: the JNI alternative to JNA, measured on the same libmuster
 * calls (muster_version, which returns a static string; muster_alting_index and
 * muster_alting_poll on a front-end handle, the shape of the binding's hot calls). */
#include <jni.h>
#include <stdint.h>
#include "muster.h"

JNIEXPORT jlong JNICALL Java_CallCost_jniVersion(JNIEnv *env, jclass cls) {
    (void)env;
    (void)cls;
    return (jlong)(intptr_t)muster_version();
}

JNIEXPORT jint JNICALL Java_CallCost_jniIndex(JNIEnv *env, jclass cls, jlong fe) {
    (void)env;
    (void)cls;
    return muster_alting_index((const muster_alting *)(intptr_t)fe);
}

JNIEXPORT jint JNICALL Java_CallCost_jniPoll(JNIEnv *env, jclass cls, jlong fe, jlong offer_ns) {
    (void)env;
    (void)cls;
    return muster_alting_poll((muster_alting *)(intptr_t)fe, (uint64_t)offer_ns);
}

/* An out-parameter call as a JNI binding would make it: the value comes back as the result. */
JNIEXPORT jlong JNICALL Java_CallCost_jniCompletions(JNIEnv *env, jclass cls, jlong fe) {
    uint64_t n = 0;
    (void)env;
    (void)cls;
    return muster_alting_completions((const muster_alting *)(intptr_t)fe, &n) == MUSTER_OK ? (jlong)n : -1;
}
