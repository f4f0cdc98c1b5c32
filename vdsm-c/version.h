/* Versions vdsm-c reports. The manager decides compatibility from the VDSM version in
 * packages2.vdsm (major.minor) and from supportedENGINEs/clusterLevels (API.md §5.1):
 * vdsm-c speaks the VDSM 4.17 XML-RPC contract (engine 3.4–3.6). */
#ifndef VD_VERSION_H
#define VD_VERSION_H

#define VDSM_C_VERSION "0.1.0"
#define VDSM_COMPAT_VERSION "4.17.0"   /* VDSM version whose contract we serve */
#define VDSM_COMPAT_RELEASE "1.vdsmc"
#define VDSM_COMPAT_VERSION_NAME "Snow Man"
#define VDSM_SUPPORTED_LEVELS { "3.4", "3.5", "3.6" }

#endif
