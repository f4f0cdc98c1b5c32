/* devlist-probe: the storage/ device readers (sysfs scan, multipathd's socket, the
 * pvs report) run once and printed, one line per map:
 *   GUID devtype size lbs pbs vendor|product|fwrev|serial pv_uuid|vg_uuid dev:state:lun ...
 * For the lab test storage-devices-probe; not the agent (getDeviceList is not wired). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../storage/dev.h"
#include "../../../storage/mpath.h"

int main(int argc, char **argv)
{
	struct stg_dev *d;
	struct stg_mpath_map *maps = NULL;
	struct stg_pv *pvs = NULL;
	size_t nmaps = 0, npvs = 0, len;
	char *reply;

	int n = stg_dev_scan("/", &d);
	if (n < 0) {
		fprintf(stderr, "scan: %s\n", strerror(-n));
		return 1;
	}
	int r = stg_mpathd_query(STG_MPATHD_SOCKET, "show maps json", 5000, &reply, &len);
	if (r < 0 || stg_mpath_parse_maps(reply, len, &maps, &nmaps) < 0) {
		fprintf(stderr, "multipathd: %s\n", r < 0 ? strerror(-r) : "bad reply");
		return 1;
	}
	free(reply);
	if (argc > 1) {          /* argv[1]: a file with the pvs JSON report */
		FILE *f = fopen(argv[1], "r");
		char *buf = calloc(1, 1 << 20);
		size_t got = f && buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
		if (f)
			fclose(f);
		if (!buf || stg_pvs_parse(buf, got, &pvs, &npvs) < 0) {
			fprintf(stderr, "pvs: bad report\n");
			return 1;
		}
		free(buf);
	}
	stg_dev_merge(d, (size_t)n, maps, nmaps, pvs, npvs);
	for (int i = 0; i < n; i++) {
		printf("%s %s %lld %d %d %s|%s|%s|%s %s|%s", d[i].guid, stg_dev_type(&d[i]),
		       (long long)d[i].size, d[i].logical_bs, d[i].physical_bs, d[i].vendor,
		       d[i].product, d[i].fwrev, d[i].serial, d[i].pv_uuid, d[i].vg_uuid);
		for (size_t k = 0; k < d[i].npaths; k++)
			printf(" %s:%s:%lld", d[i].paths[k].dev, d[i].paths[k].state,
			       (long long)d[i].paths[k].lun);
		printf("\n");
	}
	stg_devs_free(d, (size_t)n);
	stg_mpath_maps_free(maps, nmaps);
	free(pvs);
	return 0;
}
