// The target's only source: SwiftPM needs one to link libyaml.a into whatever imports CYAML.
#include "CYAML.h"
