package PVE::Balancer::Env::PVE2;

# The real environment: a Proxmox VE node. State comes in-process from PVE::Cluster (see
# PVE::Balancer::State), files and locks live in pmxcfs, migrations go through the qemu-server
# and pve-container API handlers, HA-managed guests through HA CRM commands.
#
# Migrations of guests on this node call PVE::API2::Qemu->migrate_vm /
# PVE::API2::LXC->migrate_vm in-process, as the HA LRM does. Those handlers only work on the
# node that owns the guest (they load the local config and fork the migration task there), so
# guests on other nodes are migrated through the HTTP API of this node (localhost:8006,
# proxied to the owner by pveproxy) with the credentials of the calling user, as
# pve-manager's bulk migrate does. The same path is used when the caller is a CLI
# environment (pvesh), whose workers run synchronously and would serialise the waves.

use strict;
use warnings;

use PVE::Cluster;
use PVE::INotify;
use PVE::Tools;

use PVE::Balancer::State;

=head3 new($class, %args)

C<cfs_root> (default C</etc/pve>) is where the balancer's files live.

=cut

sub new {
    my ($class, %args) = @_;

    my $self = bless {
        cfs_root => $args{cfs_root} // '/etc/pve',
    }, $class;

    return $self;
}

sub nodename {
    my ($self) = @_;
    return PVE::INotify::nodename();
}

sub get_time {
    my ($self) = @_;
    return time();
}

sub sleep {
    my ($self, $seconds) = @_;
    CORE::sleep($seconds) if $seconds > 0;
}

sub log {
    my ($self, $level, $msg) = @_;

    if ($level eq 'warn') {
        if (eval { require PVE::RESTEnvironment; 1 }) {
            PVE::RESTEnvironment::log_warn($msg);
            return;
        }
        $msg = "WARN: $msg";
    }
    print "$msg\n";
}

sub cluster_inputs {
    my ($self, %opts) = @_;

    return PVE::Balancer::State::read_inputs(%opts, now => $opts{now} // $self->get_time());
}

my sub cfs_path {
    my ($self, $relpath) = @_;

    die "invalid path '$relpath'\n" if $relpath =~ m!(?:^|/)\.\.(?:/|$)! || $relpath =~ m!^/!;
    return "$self->{cfs_root}/$relpath";
}

sub read_cfs_file {
    my ($self, $relpath) = @_;

    my $path = cfs_path($self, $relpath);
    return undef if !-e $path;
    return PVE::Tools::file_get_contents($path);
}

sub write_cfs_file {
    my ($self, $relpath, $data) = @_;

    my $path = cfs_path($self, $relpath);
    if ($relpath =~ m!^(.+)/[^/]+$!) {
        my $dir = cfs_path($self, $1);
        mkdir($dir) if !-d $dir;
    }
    PVE::Tools::file_set_contents($path, $data);
}

sub delete_cfs_file {
    my ($self, $relpath) = @_;

    my $path = cfs_path($self, $relpath);
    unlink($path) or die "unable to delete '$path' - $!\n" if -e $path;
}

sub cfs_lock {
    my ($self, $name, $timeout, $code) = @_;

    my $res = PVE::Cluster::cfs_lock_domain("pve-balancer-$name", $timeout, $code);
    die $@ if $@;
    return $res;
}

# The RPC environment of the request, or undef where there is none (pve-balancerd, plain
# Perl callers).
my sub rpcenv {
    return undef if !eval { require PVE::RPCEnvironment; 1 };
    return PVE::RPCEnvironment::get();
}

# in-process handler calls work only for local guests and only where workers run in the
# background (pvedaemon); see the comment at the top.
my sub use_local_handler {
    my ($self, $node) = @_;

    return 0 if $node ne $self->nodename();
    my $rpcenv = rpcenv() or return 0;
    return ($rpcenv->{type} // 'cli') ne 'cli';
}

=head3 credentials()

The user and credentials for calls to the local API: those of the request where the method
exposes them (C<expose_credentials>), else, for root@pam and callers without a request
(pve-balancerd), a ticket signed with the cluster's key, as pvedaemon's own helpers make
them (needs root). Dies for other users without credentials.

=cut

sub credentials {
    my ($self) = @_;

    my $rpcenv = rpcenv();
    my $user = ($rpcenv ? $rpcenv->get_user(1) : undef) // 'root@pam';
    # the real get_credentials dies without $noerr when the request exposed none
    my $credentials = ($rpcenv ? $rpcenv->get_credentials(1) : undef) // {};
    my ($ticket, $csrf, $token) = $credentials->@{qw(ticket token api_token)};

    if (!$ticket && !$token) {
        die "no credentials to start migrations on other nodes as $user (the request did not"
            . " expose them)\n" if $user ne 'root@pam';
        require PVE::AccessControl;
        $ticket = PVE::AccessControl::assemble_ticket($user);
        $csrf = PVE::AccessControl::assemble_csrf_prevention_token($user);
    }
    return ($user, $ticket, $csrf, $token);
}

my sub api_client {
    my ($self) = @_;

    require PVE::APIClient::LWP;

    my ($user, $ticket, $csrf, $token) = $self->credentials();
    my $key = join("\0", $user, $ticket // '', $token // '');
    return $self->{api_client} if $self->{api_client} && $self->{api_client_key} eq $key;

    my $nodename = $self->nodename();
    my $fingerprint = PVE::Cluster::get_node_fingerprint($nodename);

    my $client = PVE::APIClient::LWP->new(
        protocol => 'https',
        host => 'localhost',
        port => 8006,
        username => $user,
        ticket => $ticket,
        api_token => $token,
        timeout => 25,
        cached_fingerprints => { $fingerprint => 1 },
    );
    $client->update_csrftoken($csrf) if defined($csrf);

    $self->{api_client_key} = $key;
    return $self->{api_client} = $client;
}

sub migrate_guest {
    my ($self, $guest, $target, $params) = @_;

    my ($vmid, $type, $node) = $guest->@{qw(vmid type node)};
    die "unknown guest type '$type'\n" if $type ne 'qemu' && $type ne 'lxc';

    if (use_local_handler($self, $node)) {
        my $param = { %$params, node => $node, vmid => $vmid, target => $target };
        my $upid;
        if ($type eq 'qemu') {
            require PVE::API2::Qemu;
            $upid = PVE::API2::Qemu->migrate_vm($param);
        } else {
            require PVE::API2::LXC;
            $upid = PVE::API2::LXC->migrate_vm($param);
        }
        return { upid => $upid, node => $node, local => 1 };
    }

    my $upid = api_client($self)->post("/nodes/$node/$type/$vmid/migrate",
        { %$params, target => $target });
    return { upid => $upid, node => $node };
}

sub task_status {
    my ($self, $task) = @_;

    if ($task->{local}) {
        require PVE::ProcFSTools;
        my $info = PVE::Tools::upid_decode($task->{upid});
        return { running => 1 }
            if PVE::ProcFSTools::check_process_running($info->{pid}, $info->{pstart});
        return { running => 0, exitstatus => PVE::Tools::upid_read_status($task->{upid}) };
    }

    my $st = api_client($self)->get("/nodes/$task->{node}/tasks/$task->{upid}/status");
    return { running => 1 } if ($st->{status} // '') eq 'running';
    return { running => 0, exitstatus => $st->{exitstatus} // 'unknown' };
}

sub stop_task {
    my ($self, $task) = @_;

    if ($task->{local}) {
        require PVE::RPCEnvironment;
        PVE::RPCEnvironment->check_worker($task->{upid}, 1);
        return;
    }
    api_client($self)->delete("/nodes/$task->{node}/tasks/$task->{upid}");
}

# The checks of pve-ha-manager's API before it queues a migrate command
# (PVE::API2::HA::Resources, migrate: service_is_ha_managed, check_service_state), plus the
# disarmed HA stack, whose CRM reads commands but does not act on them
# (PVE::HA::Manager::manage, handle_disarm).
sub ha_migrate {
    my ($self, $sid, $target) = @_;

    require PVE::HA::Config;
    PVE::HA::Config::service_is_ha_managed($sid);
    my $status = PVE::HA::Config::get_service_status($sid);
    die "service '$sid' in error state, must be disabled and fixed first\n"
        if $status->{managed} && ($status->{state} // '') eq 'error';
    my $ms = PVE::HA::Config::read_manager_status();
    if (my $disarm = $ms->{disarm}) {
        die "HA is disarmed (resource mode $disarm->{mode}): the HA manager would not process"
            . " the migration of $sid\n";
    }
    PVE::HA::Config::queue_crm_commands("migrate $sid $target");
}

sub ha_manager_status {
    my ($self) = @_;

    require PVE::HA::Config;
    PVE::Cluster::cfs_update();
    return PVE::HA::Config::read_manager_status();
}

sub ha_commands_pending {
    my ($self) = @_;

    require PVE::HA::Config;
    return PVE::HA::Config::any_pending_crm_command() ? 1 : 0;
}

sub guest_nodes {
    my ($self) = @_;

    PVE::Cluster::cfs_update();
    my $ids = (PVE::Cluster::get_vmlist() // {})->{ids} // {};
    return { map { $_ => $ids->{$_}->{node} } keys %$ids };
}

sub migration_running {
    my ($self, $m) = @_;

    my $vmid = 0 + $m->{vmid};
    if ($m->{ha}) {
        require PVE::HA::Config;
        my $sid = ($m->{type} eq 'lxc' ? 'ct' : 'vm') . ":$vmid";
        my $sd = (PVE::HA::Config::read_manager_status()->{service_status} // {})->{$sid};
        return 1 if $sd && ($sd->{state} // '') =~ m/^(?:migrate|relocate)$/;
        return 0 if !PVE::HA::Config::any_pending_crm_command();
        return $sd && ($sd->{node} // '') ne $m->{to} ? 1 : 0; # command still queued
    }

    if ($m->{upid}) {
        my $info = eval { PVE::Tools::upid_decode($m->{upid}) };
        my $task = { upid => $m->{upid}, node => $m->{'task-node'} // ($info ? $info->{node} : undef) };
        $task->{local} = 1 if $task->{node} && $task->{node} eq $self->nodename();
        my $st = eval { $self->task_status($task) };
        return $st->{running} ? 1 : 0 if $st;
    }
    # no task to ask: qemu-server and pve-container hold the 'migrate' lock while they move it
    my $props = PVE::Cluster::get_guest_config_properties(['lock'], $vmid) // {};
    return (($props->{$vmid} // {})->{lock} // '') eq 'migrate' ? 1 : 0;
}

sub quorate {
    my ($self) = @_;
    return PVE::Cluster::check_cfs_quorum(1) ? 1 : 0;
}

sub local_time {
    my ($self, $epoch) = @_;

    my @t = localtime($epoch);
    return {
        year => $t[5] + 1900,
        mon => $t[4] + 1,
        mday => $t[3],
        wday => $t[6],
        hour => $t[2],
        min => $t[1],
        date => sprintf("%04d-%02d-%02d", $t[5] + 1900, $t[4] + 1, $t[3]),
    };
}

# pve-common PVE::CalendarEvent (backed by proxmox-time through Proxmox::RS::CalendarEvent), as
# pve-manager's PVE::Jobs::run_jobs computes when a job is due.
sub next_calendar_event {
    my ($self, $schedule, $after) = @_;

    require PVE::CalendarEvent;
    my $spec = PVE::CalendarEvent::parse_calendar_event($schedule);
    return PVE::CalendarEvent::compute_next_event($spec, $after);
}

# pve-cluster PVE::Notify, as pve-ha-manager's PVE::HA::Env::PVE2::send_notification does it:
# the common template data (hostname, fqdn, cluster-name) first, errors logged, never fatal.
sub notify {
    my ($self, $severity, $template, $data, $fields) = @_;

    eval {
        require PVE::Notify;
        my $common = PVE::Notify::common_template_data();
        for my $key (keys %$common) {
            $data->{$key} = $common->{$key} if !defined($data->{$key});
        }
        PVE::Notify::notify($severity, $template, $data, $fields);
    };
    if (my $err = $@) {
        chomp $err;
        $self->log('warn', "could not send notification - $err");
    }
}

our $daemon_status_file = '/run/pve-balancerd/status.json';

sub daemon_local_status {
    my ($self) = @_;

    return undef if !-e $daemon_status_file;
    my $raw = eval { PVE::Tools::file_get_contents($daemon_status_file) } // return undef;
    require JSON;
    my $st = eval { JSON->new->decode($raw) };
    return undef if ref($st) ne 'HASH';
    my $pid = ref($st->{daemon}) eq 'HASH' ? $st->{daemon}->{pid} : undef;
    # EPERM: it runs, as another user
    $st->{stale} = 1 if !$pid || !(kill(0, $pid) || $!{EPERM});
    return $st;
}

sub task_alive {
    my ($self, $upid) = @_;

    my $info = eval { PVE::Tools::upid_decode($upid) } or return undef;
    return undef if $info->{node} ne $self->nodename();

    require PVE::ProcFSTools;
    return PVE::ProcFSTools::check_process_running($info->{pid}, $info->{pstart}) ? 1 : 0;
}

1;
