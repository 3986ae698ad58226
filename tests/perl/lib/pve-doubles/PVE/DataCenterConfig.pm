package PVE::DataCenterConfig;

# Test double: the real module registers the datacenter.cfg parser with PVE::Cluster; the
# PVE::Cluster double serves datacenter.cfg already parsed.

use strict;
use warnings;

1;
