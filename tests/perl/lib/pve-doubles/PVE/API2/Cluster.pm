package PVE::API2::Cluster;

# Test double of pve-manager's PVE::API2::Cluster (PVE/API2/Cluster.pm): a RESTHandler with a couple of its own
# methods registered at load time, as the real one has; add-ons mount below it with
# register_method({subclass => ..., path => ...}).

use strict;
use warnings;

use PVE::RESTHandler;

use base qw(PVE::RESTHandler);

__PACKAGE__->register_method({
    name => 'index',
    path => '',
    method => 'GET',
    description => "Cluster index.",
    permissions => { user => 'all' },
    parameters => { additionalProperties => 0, properties => {} },
    returns => { type => 'array', items => { type => 'object' } },
    code => sub {
        return [map { { name => $_ } } qw(log options resources status tasks)];
    },
});

__PACKAGE__->register_method({
    name => 'resources',
    path => 'resources',
    method => 'GET',
    description => "Resources index (cluster wide).",
    permissions => { user => 'all' },
    parameters => { additionalProperties => 0, properties => {} },
    returns => { type => 'array', items => { type => 'object' } },
    code => sub { return [] },
});

1;
