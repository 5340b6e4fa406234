/* fbmode W H: set /dev/fb0's visible resolution (FBIOPUT_VSCREENINFO), which makes
 * xen-fbfront send XENFB_TYPE_RESIZE. busybox-static ships no fbset. */
#include <fcntl.h>
#include <linux/fb.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>

int main(int argc, char **argv) {
  struct fb_var_screeninfo v;
  int fd = open("/dev/fb0", O_RDWR);
  if (argc != 3 || fd < 0 || ioctl(fd, FBIOGET_VSCREENINFO, &v) < 0) {
    perror("fbmode");
    return 1;
  }
  v.xres = v.xres_virtual = (unsigned)atoi(argv[1]);
  v.yres = v.yres_virtual = (unsigned)atoi(argv[2]);
  v.activate = FB_ACTIVATE_NOW;
  if (ioctl(fd, FBIOPUT_VSCREENINFO, &v) < 0) {
    perror("FBIOPUT_VSCREENINFO");
    return 1;
  }
  return 0;
}
