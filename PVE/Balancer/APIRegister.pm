package PVE::Balancer::APIRegister;

# Mounts PVE::API2::Balancer at /cluster/balance in the running API process.
#
# pve-manager has no plugin hook for new API paths. /usr/bin/pvedaemon, /usr/bin/pveproxy and
# /usr/bin/pvesh each get one line (see PVE::Balancer::Inject):
#
#   BEGIN { eval { require PVE::Balancer::APIRegister; }; }
#
# Loading this module registers the subclass with PVE::API2::Cluster. It never dies: if
# anything fails (pve-balancer half installed, an incompatible pve-manager), the API starts
# without /cluster/balance and the reason is logged. Loading it twice is harmless.

use strict;
use warnings;

our $registered = 0;
our $error;

my sub already_mounted {
    my $methods = PVE::API2::Cluster->method_attributes() // [];
    for my $info (@$methods) {
        return 1 if ($info->{path} // '') eq 'balance';
    }
    return 0;
}

=head3 register()

Registers C<PVE::API2::Balancer> at C<balance> below C<PVE::API2::Cluster> unless that path is
already taken. Returns 1 on success, 0 (with C<$error> set and a warning logged) on failure.

=cut

sub register {
    return 1 if $registered;

    eval {
        require PVE::API2::Cluster;
        require PVE::API2::Balancer;

        if (!already_mounted()) {
            PVE::API2::Cluster->register_method({
                subclass => 'PVE::API2::Balancer',
                path => 'balance',
            });
        }
        $registered = 1;
    };
    if (my $err = $@) {
        chomp $err;
        $error = $err;
        my $msg = "pve-balancer: /cluster/balance not available - $err\n";
        eval {
            require PVE::SafeSyslog;
            PVE::SafeSyslog::syslog('err', '%s', $msg);
        };
        warn $msg;
        return 0;
    }
    return 1;
}

register();

1;
