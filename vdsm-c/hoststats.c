/* Host statistics sampler: the thread, the published sample and the VM counter hook.
 * (The sampler itself is being written; this first part lets the VM module register.) */
#include <pthread.h>
#include <stdlib.h>

#include "hoststats.h"

static pthread_mutex_t vm_counter_lock = PTHREAD_MUTEX_INITIALIZER;
static void (*vm_counter)(struct hoststats_vm_counts *out);

void hoststats_set_vm_counter(void (*fn)(struct hoststats_vm_counts *out))
{
	pthread_mutex_lock(&vm_counter_lock);
	vm_counter = fn;
	pthread_mutex_unlock(&vm_counter_lock);
}
