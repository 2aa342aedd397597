// libyaml, the YAML 1.1 parser Debian ships (libyaml-dev), linked statically: its event API is all Sonde uses.
#ifndef SONDE_CYAML_H
#define SONDE_CYAML_H
#include <yaml.h>
#endif
