// The one page size of the Xen interfaces this project speaks: shared rings, fbif/kbdif
// pages, directory pages, grant and foreign mappings, the dirty-tile page and the
// simulator's guest memory. Xen's XC_PAGE_SIZE (tools/include/xenctrl.h) and Linux's
// XEN_PAGE_SIZE (include/xen/page.h): 4 KiB whatever the host's page size, on x86 and Arm.

export const XEN_PAGE_SIZE = 4096;
