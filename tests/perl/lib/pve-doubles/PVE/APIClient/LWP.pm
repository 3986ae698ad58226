package PVE::APIClient::LWP;

# Test double of pve-apiclient's PVE::APIClient::LWP (src/PVE/APIClient/LWP.pm) as pve-manager's bulk actions use it: a client of the
# local API (https://localhost:8006) with the caller's ticket. Requests are answered the way
# pveproxy/pvedaemon would: the permission of the ticket's user is checked, the call runs on
# the node named in the path (proxyto), errors come back as "<code> <message>".
#
#   POST   /nodes/{node}/{qemu|lxc}/{vmid}/migrate   start a migration
#   GET    /nodes/{node}/tasks/{upid}/status          {status => running|stopped, exitstatus}
#   DELETE /nodes/{node}/tasks/{upid}                 stop a task

use strict;
use warnings;

use PVE::RPCEnvironment;

# [method, path, params, username] of every request, for the tests; also kept in the simulated
# cluster ('api_requests'), which a forked worker hands back to the test process
our @requests;

my sub log_request {
    my ($req) = @_;
    push @requests, $req;
    my $sim = PVEBalancerTest::SimCluster->current();
    push @{ $sim->{api_requests} }, $req if $sim;
}

sub new {
    my ($class, %param) = @_;

    die "missing ticket or API token\n" if !$param{ticket} && !$param{api_token};
    return bless { %param }, $class;
}

sub update_csrftoken {
    my ($self, $token) = @_;
    $self->{csrftoken} = $token;
}

my sub sim {
    return PVEBalancerTest::SimCluster->current();
}

sub post {
    my ($self, $path, $param) = @_;

    log_request(['POST', $path, { %{ $param // {} } }, $self->{username}]);
    if ($path =~ m!^/nodes/([^/]+)/(qemu|lxc)/(\d+)/migrate$!) {
        my ($node, $type, $vmid) = ($1, $2, $3);
        # checked by the serving pvedaemon with the cluster's ACLs, not by the caller
        my $server = bless { acl => sim()->{acl} // {} }, 'PVE::RPCEnvironment';
        if (!$server->check($self->{username}, "/vms/$vmid", ['VM.Migrate'], 1)) {
            die "403 Permission check failed (/vms/$vmid, VM.Migrate)\n";
        }
        my $sim = sim();
        die "595 no such node '$node'\n" if !$sim->{nodes}->{$node}->{online};
        my $upid = eval {
            $sim->start_migration(type => $type, vmid => $vmid, node => $node,
                target => $param->{target}, params => $param, user => $self->{username});
        };
        if (my $err = $@) {
            chomp $err;
            die "500 $err\n";
        }
        return $upid;
    }
    die "501 method 'POST $path' not implemented\n";
}

sub get {
    my ($self, $path, $param) = @_;

    log_request(['GET', $path, { %{ $param // {} } }, $self->{username}]);
    if ($path =~ m!^/nodes/([^/]+)/tasks/([^/]+)/status$!) {
        my $task = sim()->{tasks}->{$2} or die "500 no such task\n";
        return { status => 'running', upid => $2 } if $task->{running};
        return { status => 'stopped', exitstatus => $task->{status}, upid => $2 };
    }
    die "501 method 'GET $path' not implemented\n";
}

sub delete {
    my ($self, $path, $param) = @_;

    log_request(['DELETE', $path, { %{ $param // {} } }, $self->{username}]);
    if ($path =~ m!^/nodes/([^/]+)/tasks/([^/]+)$!) {
        sim()->stop_task($2);
        return undef;
    }
    die "501 method 'DELETE $path' not implemented\n";
}

1;
