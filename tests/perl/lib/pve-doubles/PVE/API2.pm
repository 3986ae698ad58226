package PVE::API2;

# Test double of pve-manager's PVE::API2 (PVE/API2.pm): the API root, with /cluster mounted.

use strict;
use warnings;

use PVE::RESTHandler;
use PVE::API2::Cluster;

use base qw(PVE::RESTHandler);

__PACKAGE__->register_method({
    subclass => 'PVE::API2::Cluster',
    path => 'cluster',
});

1;
