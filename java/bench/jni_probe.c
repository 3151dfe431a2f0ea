/* A one-function JNI library for CallCost: the JNI alternative to JNA, measured on the same
 * trivial libmuster call (muster_version, which returns a static string). */
#include <jni.h>
#include "muster.h"

JNIEXPORT jlong JNICALL Java_CallCost_jniVersion(JNIEnv *env, jclass cls) {
    (void)env;
    (void)cls;
    return (jlong)(intptr_t)muster_version();
}
