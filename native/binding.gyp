{
  "variables": {
    "have_turbojpeg%": "<!(node find-turbojpeg.js have)"
  },
  "targets": [
    {
      "target_name": "xenvfb_native",
      "sources": [
        "src/addon.cc",
        "src/args.cc",
        "src/classify.cc",
        "src/deflate.cc",
        "src/errors.cc",
        "src/fd-poll.cc",
        "src/gradient.cc",
        "src/heap.cc",
        "src/hextile.cc",
        "src/jpeg.cc",
        "src/jpeg-pool.cc",
        "src/mapping.cc",
        "src/palette.cc",
        "src/sched.cc",
        "src/shm.cc",
        "src/unix-socket.cc",
        "src/xen-addon.cc",
        "src/xen-device.cc",
        "src/xen-evtchn.cc",
        "src/xen-grants.cc",
        "src/xen-privcmd.cc",
        "src/xen-xenbus.cc",
        "src/zrle.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ],
      "cflags!": [ "-fno-exceptions" ],
      "cflags_cc!": [ "-fno-exceptions" ],
      "cflags_cc": [ "-std=c++17", "-Wall", "-Wextra" ],
      "conditions": [
        [ "OS=='linux'", { "libraries": [ "-lrt" ] } ],
        [ "have_turbojpeg==1", {
          "defines": [ "XENVFB_HAVE_TURBOJPEG" ],
          "include_dirs": [ "<!@(node find-turbojpeg.js include)" ],
          "libraries": [ "<!@(node find-turbojpeg.js libs)" ]
        } ],
        [ "OS=='mac'", {
          "xcode_settings": {
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES"
          }
        } ]
      ]
    }
  ]
}
